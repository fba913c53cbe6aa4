"""app_runs: the run list the pages show, read from disk once per change rather than at every rerun."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import app_runs
from glr.training.run import RUNS_SUBDIR, Run
from test_app_pages import HOME, RESULTS, TRAIN, open_page, texts

MANY = 40


def _link_copy(src: Path, dst: Path) -> None:
    """A copy of a run folder made of hard links: 40 runs in milliseconds (nothing here writes to their files)."""
    shutil.copytree(src, dst, copy_function=os.link, ignore=shutil.ignore_patterns("export"))


@pytest.fixture
def many_runs(monkeypatch, tmp_path, finished_run, tiny_data) -> Path:
    results = tmp_path / "results"
    for i in range(MANY):
        _link_copy(finished_run.path, results / RUNS_SUBDIR / f"202601{i // 28 + 1:02d}-{i % 28:02d}0000-r{i:02d}")
    monkeypatch.setenv("GLR_RESULTS", str(results))
    monkeypatch.setenv("GLR_DATA", str(tiny_data))
    return results


@pytest.fixture
def history_reads(monkeypatch) -> list[str]:
    """Every Run.history call, by run id."""
    calls, real = [], Run.history

    def counted(self):
        calls.append(self.id)
        return real(self)

    monkeypatch.setattr(Run, "history", counted)
    return calls


@pytest.mark.parametrize("page", [HOME, TRAIN, RESULTS])
def test_a_rerun_does_not_read_every_runs_files_again(many_runs, history_reads, page):
    at = open_page(page)
    assert len(set(history_reads)) >= MANY  # the first draw lists them all
    history_reads.clear()
    at.run()
    # Only the run the page shows in detail (Train's live view, Results' curves); was every run, once or twice.
    assert len(history_reads) <= 2, f"{len(history_reads)} history reads on a rerun of {page}"


def test_a_run_renamed_deleted_or_added_meanwhile_shows_at_the_next_rerun(many_runs, finished_run):
    at = open_page(TRAIN)
    runs = many_runs / RUNS_SUBDIR
    newest = sorted(p.name for p in runs.iterdir())[-1]
    (runs / newest / "name.txt").unlink(missing_ok=True)  # if a hard link: rewrite it alone, not every copy's
    Run(runs / newest).set_name("renamed in another tab")
    shutil.rmtree(runs / "20260101-000000-r00")
    _link_copy(finished_run.path, runs / "20260301-000000-added")
    at.run()
    options = at.selectbox[-1].options
    assert "20260101-000000-r00" not in " ".join(options)
    assert any(o.startswith("20260301-000000-added") for o in options)
    assert any(o.startswith(f"renamed in another tab · {newest}") for o in options)
    assert len(at.dataframe[-1].value) == MANY  # one gone, one added


def test_a_training_whose_process_died_is_seen_as_failed_without_a_file_changing(many_runs, monkeypatch):
    monkeypatch.setattr(app_runs, "POLL_SECONDS", 0.05)
    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run = Run(sorted((many_runs / RUNS_SUBDIR).iterdir())[-1])
        run.status_path.unlink()  # a hard link: its own status from here on
        run.update_status(state="running", pid=trainer.pid, phase="head", unit="batch", epoch=1, epochs=4)
        assert app_runs.run_list(many_runs).set_index("run_id").loc[run.id, "state"] == "running"
    finally:
        trainer.kill()
        trainer.wait()
    time.sleep(0.1)
    table = app_runs.run_list(many_runs).set_index("run_id")
    assert table.loc[run.id, "state"] == "failed"


def test_the_stamp_changes_with_every_file_the_list_reads(many_runs):
    run = Run(sorted((many_runs / RUNS_SUBDIR).iterdir())[0])
    before = app_runs.runs_stamp(many_runs)
    for name in app_runs.READ_FILES:
        path = run.path / name
        if path.exists():
            data = path.read_bytes()
            path.unlink()  # a hard link: replaced for this run alone, as glr's atomic writes replace a file
            path.write_bytes(data)
            assert app_runs.runs_stamp(many_runs) != before, name
            before = app_runs.runs_stamp(many_runs)
    assert app_runs.runs_stamp(many_runs) == before  # and only then
