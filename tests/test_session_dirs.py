"""The test session's temp folders: a killed session's are swept, a live one's never."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import session_dirs
import psutil


def _owned_by(tmp_path, name, pid, start):
    folder = tmp_path / name
    folder.mkdir()
    (folder / session_dirs.OWNER_FILE).write_text(json.dumps({"pid": pid, "start": start}))
    return folder


def test_a_folder_whose_session_was_killed_is_swept_and_a_live_ones_is_kept(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone_start = psutil.Process(gone.pid).create_time()
    gone.wait()
    dead = _owned_by(tmp_path, "glr-test-cache-dead", gone.pid, gone_start)
    live = _owned_by(tmp_path, "glr-test-cache-live", os.getpid(), psutil.Process().create_time())
    unowned = tmp_path / "glr-test-demo-old"
    unowned.mkdir()
    other = _owned_by(tmp_path, "glr-test-elsewhere-dead", gone.pid, gone_start)

    removed = session_dirs.sweep_stale(("glr-test-cache-", "glr-test-demo-"), root=str(tmp_path))

    assert removed == [str(dead)]
    assert not dead.exists() and live.is_dir() and unowned.is_dir() and other.is_dir()


def test_a_pid_reused_by_another_process_does_not_keep_a_folder(tmp_path):
    stale = _owned_by(tmp_path, "glr-test-demo-reused", os.getpid(), psutil.Process().create_time() - 3600)
    assert session_dirs.sweep_stale(("glr-test-demo-",), root=str(tmp_path)) == [str(stale)]


def test_made_folders_name_their_owner(tmp_path, monkeypatch):
    monkeypatch.setattr(session_dirs.tempfile, "tempdir", str(tmp_path))
    folder = session_dirs.make("glr-test-cache-")
    assert os.path.dirname(folder) == str(tmp_path)
    assert json.loads((tmp_path / os.path.basename(folder) / session_dirs.OWNER_FILE).read_text())["pid"] == os.getpid()
    assert session_dirs.sweep_stale(("glr-test-cache-",), root=str(tmp_path)) == []
