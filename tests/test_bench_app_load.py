"""benchmarks/bench_app_load.py in its tiny mode: a real server and two browser users at once on the Predict page.

The figures are not checked (they are the benchmark's, on a noisy machine): only that both users
got their results, with no lost upload and no exception. Skipped without chromium or playwright,
like tests/test_browser.py.
"""

from __future__ import annotations

import importlib
import re
import shutil
import sys
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: run scripts/setup-tests.sh (apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.async_api", reason="playwright is not importable: run scripts/setup-tests.sh",
                    exc_type=ImportError)

from glr.training.run import RUNS_SUBDIR  # noqa: E402

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_two_users_at_once_get_their_results(finished_run, tiny_data, tmp_path, capsys):
    from glr.predict import Predictor

    Predictor(finished_run.path)  # converts the model to ONNX once here, as a server's first visitor would
    results = tmp_path / "results"
    shutil.copytree(finished_run.path, results / RUNS_SUBDIR / finished_run.path.name)
    sys.path.insert(0, str(BENCHMARKS))
    try:
        bench = importlib.import_module("bench_app_load")
        bench.main(["--tiny", "--results", str(results), "--photos", str(tiny_data), "--users", "2"])
    finally:
        sys.path.remove(str(BENCHMARKS))
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("SUMMARY ") and "; 0 lost" in out[-1], out[-8:]
    rounds = [line for line in out if re.match(r"\s*app\s+\d+ \|", line)]
    assert len(rounds) == 1 and "0 lost, 0 errors" in rounds[0], out[-8:]
