"""The command line of the exported predict.py (glr.export_cli): its usage comes before anything heavy is imported."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from glr import export
from test_export import template_script

HEAVY = ["numpy", "PIL", "onnxruntime", "ai_edge_litert", "tensorflow", "keras", "pi_heif"]


@pytest.mark.parametrize("fmt, argv", [("keras", ["--help"]), ("savedmodel", ["-h"]), ("tflite", []),
                                       ("onnx", ["--out", "x.csv"]), ("onnx", ["--help"])])
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


def _old_pythons() -> dict[str, str]:
    """The Pythons older than this one found here (pyenv's, or python3.X on the PATH), by version."""
    import glob
    import shutil

    found = {}
    for minor in (8, 9, 10):
        for path in [*sorted(glob.glob(str(Path.home() / ".pyenv" / "versions" / f"3.{minor}.*" / "bin" / "python"))),
                     shutil.which(f"python3.{minor}")]:
            # pyenv's shim for a version not selected is on the PATH but fails: each is asked its version
            if path and subprocess.run([path, "-c", f"import sys; assert sys.version_info[:2] == (3, {minor})"],
                                       capture_output=True, timeout=60).returncode == 0:
                found[f"3.{minor}"] = path
                break
    return found


def test_predict_py_compiles_on_python_3_8_to_3_10_and_says_what_it_needs_on_3_8(tmp_path):
    """predict.py runs on the user's Python, not glr's 3.11. Every format's compiles on 3.8, 3.9 and 3.10 (no syntax
    of a later Python in glr's copied rules); on 3.8, which lacks str.removeprefix, it says what it needs where it
    was an AttributeError at the first photo, and its usage still works."""
    pythons = _old_pythons()
    if not pythons:
        pytest.skip("no Python older than 3.11 here")
    for fmt in export.FORMATS:
        template_script(tmp_path / fmt, [{"index": 0, "landmark_id": 5, "name": "x"}], fmt)
    for version, python in pythons.items():
        done = subprocess.run([python, "-m", "py_compile", *(str(tmp_path / fmt / "predict.py") for fmt in export.FORMATS)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (version, done.stderr[-2000:])
    if "3.8" in pythons:
        done = subprocess.run([pythons["3.8"], "-I", str(tmp_path / "onnx" / "predict.py"), "a.jpg"], capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)
        assert (done.returncode, done.stdout) == (1, "") and done.stderr.startswith(
            "predict.py needs Python 3.9 or later; this is Python 3.8.")
        done = subprocess.run([pythons["3.8"], "-I", str(tmp_path / "onnx" / "predict.py"), "--help"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 0 and done.stdout.startswith("Top-5 landmarks of a photo")


def test_predict_py_help_into_a_closed_pipe_exits_141_without_a_traceback(tmp_path):
    """`predict.py --help | true`: the usage met a closed pipe and printed a BrokenPipeError traceback."""
    import os

    template_script(tmp_path, [{"index": 0, "landmark_id": 5, "name": "x"}])
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-I", str(tmp_path / "predict.py"), "--help"], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120, cwd=tmp_path)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")


def test_predict_py_refuses_an_option_it_does_not_take_at_once_in_one_line(tmp_path, monkeypatch, capsys):
    """`predict.py photos --backend tf`, `--verify`, `--top-k 0`: each option was taken for a photo ("--backend: no
    such photo or folder", then "tf: file not found"), exit 1 after every photo was predicted. Now refused before
    anything is loaded (there is no model beside this script), exit 2 as argparse's, in one line naming the option
    and what predict.py takes."""
    script = template_script(tmp_path, [{"index": 0, "landmark_id": 5, "name": "x"}])
    (tmp_path / "photos").mkdir()
    done = subprocess.run([sys.executable, "-I", str(tmp_path / "predict.py"), "photos", "--backend", "tf"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "") and done.stderr == (
        "predict.py: unknown option --backend (glr predict's; the export's own runtime runs its model); it takes --out "
        "FILE.csv (- for the standard output), --top-k N (default 5), -h/--help, then photos and folders (a photo "
        "named -x.jpg: ./-x.jpg, or after --)\n")
    monkeypatch.chdir(tmp_path)
    for argv, said in ((["--verify", "photos"], "unknown option --verify; it takes --out FILE.csv"),
                       (["photos", "--top-k=0"], "--top-k needs a whole number of at least 1: --top-k 3, not 0")):
        assert script.cli(argv) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.startswith(f"predict.py: {said}") and len(err.splitlines()) == 1


def test_predict_py_reads_top_k_and_takes_a_file_named_like_an_option_as_a_photo(tmp_path, monkeypatch):
    """--top-k N (and --top-k=N) is main's top_k, as glr predict's; a file really named "-x.jpg" (given by the shell
    for *.jpg) is a photo, as is anything after "--"; --unknown goes on to main, which says it is ignored."""
    script = template_script(tmp_path, [{"index": 0, "landmark_id": 5, "name": "x"}])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-x.jpg").write_bytes(b"")
    assert script.options_of(["a.jpg", "--top-k", "3", "--out", "p.csv"]) == (["a.jpg"], "p.csv", {"top_k": 3})
    assert script.options_of(["--top-k=2", "-x.jpg", "--", "--top-k", "-y.jpg"]) == (
        ["-x.jpg", "--top-k", "-y.jpg"], None, {"top_k": 2})
    assert script.options_of(["--unknown", "empty", "a.jpg"]) == (["--unknown", "empty", "a.jpg"], None, {})
    for argv, said in ((["-y.jpg"], "unknown option -y.jpg;"), (["a.jpg", "--top-k"], "--top-k needs a whole number"),
                       (["--top-k", "a.jpg"], "--top-k needs a whole number of at least 1: --top-k 3, not a.jpg"),
                       (["--results=runs", "a.jpg"], "unknown option --results (glr predict's; it predicts with the export")):
        with pytest.raises(script.Usage, match=f"^{re.escape(said)}"):
            script.options_of(argv)


def test_predict_py_refuses_an_unknown_value_glr_predict_refuses_at_once(tmp_path, monkeypatch, capsys):
    """`predict.py --unknown foo photos`: glr predict refuses foo (argparse's choices); predict.py took it for a
    missing photo and exited 1 after predicting every photo. Now refused before anything is loaded, exit 2, one line
    naming the value and the choices; glr predict's own values (in any case) still go on to main, which ignores them,
    and a file really named like the value is still a photo."""
    script = template_script(tmp_path, [{"index": 0, "landmark_id": 5, "name": "x"}])
    monkeypatch.chdir(tmp_path)
    assert script.UNKNOWN_POLICIES == ("last", "empty", "keep")  # glr.submission's, written into predict.py
    said = "predict.py: --unknown takes last, empty or keep (glr predict's; predict.py ignores it)"
    for argv, value in ((["photos", "--unknown", "foo"], ", not foo"), (["--unknown=lost", "photos"], ", not lost"),
                        (["photos", "--unknown"], "")):
        assert script.cli(argv) == 2
        assert capsys.readouterr() == ("", f"{said}{value}\n")
    assert script.options_of(["--unknown=KEEP", "a.jpg"]) == (["--unknown=KEEP", "a.jpg"], None, {})
    (tmp_path / "foo").write_bytes(b"")
    assert script.options_of(["--unknown", "foo"]) == (["--unknown", "foo"], None, {})


@pytest.mark.parametrize("fmt", ["keras", "onnx"])
def test_predict_py_defines_each_top_level_name_once(fmt):
    # predict.py is pasted from several of glr's modules: UNKNOWN_POLICIES was set twice (export_cli's HEAD and
    # export_photos' constants), so a change to one copy would have been undone by the other, unseen.
    import ast
    from collections import Counter

    from glr.export_script import example_script

    names = Counter()
    for node in ast.parse(example_script(fmt, "a runtime")).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[node.name] += 1
        elif isinstance(node, ast.Assign):
            names.update(t.id for target in node.targets
                         for t in (target.elts if isinstance(target, ast.Tuple) else [target]) if isinstance(t, ast.Name))
    assert "UNKNOWN_POLICIES" in names and [name for name, n in names.items() if n > 1] == []
