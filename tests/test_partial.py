"""glr.partial: a long prediction's partial file, on a system without fcntl (Windows) as on one with it."""

import subprocess
import sys

from glr import export_csv
from glr.partial import PartialFile

KEY = {"run": "r", "--unknown": "last"}


def _keep_and_continue(partial_file, folder):
    """Keep one photo's outcome, stop, then continue from it with a second command: the outcomes read back."""
    first = partial_file(folder / "sub.csv", KEY)
    assert first.resume({"a.jpg": [1, 2]}) is None
    first.open()
    first.add("a.jpg", [1, 2], {"cell": "7 0.9"})
    first.close()  # Ctrl-C
    again = partial_file(folder / "sub.csv", KEY)
    assert again.resume({"a.jpg": [1, 2], "b.jpg": [3, 4]}) == (
        f"continuing from {folder / 'sub.csv.partial'}: 1 of 2 photos' predictions reused, 1 left to predict")
    again.open()
    again.add("b.jpg", [3, 4], {"cell": ""})
    assert list(again.outcomes(["b.jpg", "a.jpg"])) == [{"cell": ""}, {"cell": "7 0.9"}]
    again.remove()
    assert not (folder / "sub.csv.partial").exists()


def test_without_fcntl_the_partial_file_is_still_kept_and_continued_from(tmp_path, monkeypatch):
    """Windows has no fcntl: the lock is left out there (the file is then not locked, as _lock says), and glr's and the
    exported predict.py's copy of the partial file keep and reuse the predictions all the same."""
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError, as on Windows
    _keep_and_continue(PartialFile, tmp_path)
    copied = {}  # the exported predict.py's copy (export_csv.source), as it runs there
    exec(compile("import errno, json, os\n" + export_csv.source()[:-len(export_csv.SOURCE)], "predict.py", "exec"), copied)
    _keep_and_continue(copied["PartialFile"], tmp_path)


def test_glr_predict_imports_without_fcntl():
    """No module of `glr predict`'s path imports fcntl when it is imported (that would fail on Windows)."""
    code = "import sys; sys.modules['fcntl'] = None; import glr.partial, glr.folder_submission, glr.predict_command"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
