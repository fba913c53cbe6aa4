"""The command line of the exported predict.py (glr.export_cli): its usage comes before anything heavy is imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

from glr import export
from test_export import template_script

HEAVY = ["numpy", "PIL", "onnxruntime", "ai_edge_litert", "tensorflow", "keras", "pi_heif"]


@pytest.mark.parametrize("fmt", export.FORMATS)
@pytest.mark.parametrize("argv", [["--help"], ["-h"], [], ["--out", "x.csv"]])
def test_predict_py_says_its_usage_without_importing_numpy_pillow_or_its_runtime(tmp_path, fmt, argv):
    """As glr's own CLI test asserts of `python -m glr --help`: the imports, not a time (a time flakes on a busy
    machine). The usage (and no photos given: the usage, exit 1) needs none of them."""
    template_script(tmp_path, [{"index": 0, "landmark_id": 5, "name": "x"}], fmt)
    code = (f"import runpy, sys; sys.argv = ['predict.py', *{argv!r}]\n"
            f"try:\n    runpy.run_path({str(tmp_path / 'predict.py')!r}, run_name='__main__')\n"
            f"except SystemExit as exc:\n    code = exc.code\n"
            f"print(code, sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    usage = done.stdout if argv[:1] in (["--help"], ["-h"]) else done.stderr
    assert usage.startswith("Top-5 landmarks of a photo") and "a zip for the photos" in usage
    assert done.stderr.splitlines()[-1] == f"{0 if usage is done.stdout else 1} []"
