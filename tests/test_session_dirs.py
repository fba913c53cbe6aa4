"""The test session's temp folders: a killed session's are swept, a live one's never."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil

import session_dirs


def _named_for(tmp_path, prefix, pid, start):
    folder = tmp_path / f"{prefix}{pid}-{int(start)}-abc123"
    folder.mkdir()
    return folder


def test_a_folder_whose_session_was_killed_is_swept_and_a_live_ones_is_kept(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone_start = psutil.Process(gone.pid).create_time()
    gone.wait()
    dead = _named_for(tmp_path, "glr-test-cache-", gone.pid, gone_start)
    live = _named_for(tmp_path, "glr-test-cache-", os.getpid(), psutil.Process().create_time())
    unowned = tmp_path / "glr-test-demo-k2j3h4"  # made before folders were named for their owner
    unowned.mkdir()
    other = _named_for(tmp_path, "glr-test-elsewhere-", gone.pid, gone_start)

    removed = session_dirs.sweep_stale(("glr-test-cache-", "glr-test-demo-"), root=str(tmp_path))

    assert removed == [str(dead)]
    assert not dead.exists() and live.is_dir() and unowned.is_dir() and other.is_dir()


def test_a_pid_reused_by_another_process_does_not_keep_a_folder(tmp_path):
    stale = _named_for(tmp_path, "glr-test-demo-", os.getpid(), psutil.Process().create_time() - 3600)
    assert session_dirs.sweep_stale(("glr-test-demo-",), root=str(tmp_path)) == [str(stale)]


def test_a_made_folder_is_empty_and_kept_while_its_session_runs(tmp_path, monkeypatch):
    # Empty: glr writes the demo dataset into its folder and refuses one that holds other files.
    monkeypatch.setattr(session_dirs.tempfile, "tempdir", str(tmp_path))
    folder = session_dirs.make("glr-test-demo-")
    assert os.path.dirname(folder) == str(tmp_path) and os.listdir(folder) == []
    assert session_dirs.sweep_stale(("glr-test-demo-",), root=str(tmp_path)) == []
