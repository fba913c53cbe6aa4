"""The export's own files as predict.py reads them (glr.export_files, and the index in glr.export_verdict): a hand edit,
an editor's byte-order mark or a bad copy is said naming the file and what to do, never a traceback at the first photo."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from test_export import template_script
from test_export_verdict import verdict_export
from test_robustness_export import _photo, _tiny_onnx_export

AGAIN = "unzip the export again, or export the run again"
TWO = [{"index": 0, "landmark_id": 7, "name": "Tower"}, {"index": 1, "landmark_id": 8, "name": "Pont"}]


def _one_model(script):
    script.load_model = lambda: (lambda x: (np.array([[0.9, 0.1]], np.float32), None))
    return script


def _exec(folder):
    """predict.py in `folder` loaded as a module, its files as they are there."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"predict_{folder.name}", folder / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _refused(folder) -> str:
    """The words predict.py in `folder` exits with as it loads."""
    with pytest.raises(SystemExit) as stopped:
        _exec(folder)
    return str(stopped.value)


def test_labels_json_with_a_bom_reordered_or_a_name_removed_is_read_as_glr_reads_it(tmp_path, capsys):
    """Saved by Notepad as "UTF-8 with BOM", labels.json was "cannot be read (Unexpected UTF-8 BOM ...)"; its classes
    put in another order named the model's classes by position; a class without a name printed "None"."""
    folder = tmp_path / "export"
    template_script(folder, TWO)
    (folder / "labels.json").write_text("\ufeff" + json.dumps([TWO[1], {"index": 0, "landmark_id": 7}]),
                                        encoding="utf-8")
    script = _one_model(_exec(folder))
    _photo().save(tmp_path / "a.jpg")
    assert script.main([str(tmp_path / "a.jpg")]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["  1. landmark 7 (landmark 7): 0.900",  # glr's class_names
                                                        "  2. Pont (landmark 8): 0.100"]


@pytest.mark.parametrize("labels, said", [
    ([TWO[0], {**TWO[1], "index": 2}], "is damaged: class indices must be 0, 1, ..., n-1 without gaps or repeats"),
    ([TWO[0], {"index": 1, "name": "Pont"}], "is damaged: a class without landmark_id ({\"index\": 1, \"name\": \"Pont\"})"),
    ({"7": "Tower"}, "is damaged: it is not a list of classes"),
    ([TWO[0], {**TWO[1], "landmark_id": "eight"}], "is damaged: class indices must be 0, 1, ..., n-1"),
])
def test_labels_json_damaged_by_hand_is_named(tmp_path, labels, said):
    folder = tmp_path / "export"
    template_script(folder, TWO)
    (folder / "labels.json").write_text(json.dumps(labels), encoding="utf-8")
    assert _refused(folder).startswith(f"predict.py: {folder / 'labels.json'} {said}")
    assert _refused(folder).endswith(AGAIN)


def test_a_class_taken_out_of_labels_json_is_said_before_any_csv_is_written(tmp_path, capsys):
    """The model scores two classes, labels.json lists one: an IndexError traceback at the first photo (or, the other
    way round, a class never named). Now said as glr says it of a run; an older CSV is kept as it was."""
    folder = tmp_path / "export"
    script = _one_model(template_script(folder, TWO[:1]))
    _photo().save(tmp_path / "a.jpg")
    (tmp_path / "p.csv").write_text("photo,rank,landmark_id\nolder\n")  # an older CSV of predict.py's
    with pytest.raises(SystemExit) as stopped:
        script.main([str(tmp_path / "a.jpg")], str(tmp_path / "p.csv"))
    assert str(stopped.value) == "predict.py: the model has 2 classes but labels.json lists 1: the two files come from " \
        f"different runs, or a class was taken out of labels.json by hand; {AGAIN}"
    assert (tmp_path / "p.csv").read_text() == "photo,rank,landmark_id\nolder\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "a.jpg", "export", "p.csv"]


@pytest.mark.parametrize("name, field, value, said", [
    ("preprocessing.json", "input_size", "32", "input_size is '32', not a number"),
    ("preprocessing.json", "resize_to", None, "resize_to is missing"),
    ("verdict.json", "method", "nearest", "method is 'nearest', not one of head, knn, blend"),
    ("verdict.json", "knn_k", 0, "knn_k is 0, not a count of 1 or more"),
    ("verdict.json", "threshold", True, "threshold is True, not a number"),
])
def test_a_field_of_preprocessing_or_verdict_json_edited_by_hand_is_named(tmp_path, name, field, value, said):
    """Each was a KeyError, TypeError or IndexError traceback at the first photo."""
    script = verdict_export(tmp_path / "export", np.ones((1, 3), np.float32))
    folder = tmp_path / "export"
    note = json.loads((folder / name).read_text())
    if value is None:
        del note[field]
    else:
        note[field] = value
    (folder / name).write_text(json.dumps(note))
    assert _refused(folder) == f"predict.py: {folder / name} is damaged: {said}; {AGAIN}"
    assert script.main([str(tmp_path / "a.jpg")]) == 0  # as it was: the script loaded before the edit


@pytest.mark.parametrize("case, said", [
    ("rows", "the model or index beside it cannot be loaded (index_vectors.npy holds 2 photos' vectors but "
             "index_items.csv lists 1)"),
    ("landmark", "the model or index beside it cannot be loaded (index_items.csv names landmark 99, which labels.json "
                 "does not list)"),
    ("cut", "the model or index beside it cannot be loaded (Failed to read all data for array"),
    ("dimensions", "the model's embedding has 3 dimensions but index_vectors.npy holds 4: the two files come from "
                   "different exports"),
])
def test_an_index_that_does_not_fit_the_export_is_named(tmp_path, case, said):
    """An IndexError, a KeyError ("(99)") or a matmul ValueError traceback; each now names the files."""
    embedding = np.array([[0.9, 0.1, 0]], np.float32)
    items = "id,landmark_id\nabc,7\n" if case == "rows" else "id,landmark_id\nabc,7\ndef,99\n" if case == "landmark" \
        else "id,landmark_id\nabc,7\ndef,8\n"
    vectors = np.eye(4, dtype=np.float16)[:2] if case == "dimensions" else None
    script = verdict_export(tmp_path / "export", embedding, items=items, vectors=vectors)
    if case == "cut":
        raw = (tmp_path / "export" / "index_vectors.npy").read_bytes()
        (tmp_path / "export" / "index_vectors.npy").write_bytes(raw[:-5])
    with pytest.raises(SystemExit) as stopped:
        script.main([str(tmp_path / "a.jpg")])
    assert str(stopped.value).startswith(f"predict.py: {said}") and str(stopped.value).endswith(AGAIN)


def test_index_items_saved_with_a_bom_is_read(tmp_path, capsys):
    """index_items.csv opened and saved by a spreadsheet gets a byte-order mark: its first column was then "\\ufeffid",
    a KeyError traceback."""
    script = verdict_export(tmp_path / "export", np.array([[0.9, 0.1, 0]], np.float32),
                            items="\ufeffid,landmark_id\r\nabc,7\r\ndef,8\r\n")
    assert script.main([str(tmp_path / "a.jpg")]) == 0
    assert "nearest training photo abc (landmark 7, similarity 0.994)" in capsys.readouterr().out


def test_predict_py_and_its_files_saved_with_windows_line_ends_run_the_same(tmp_path):
    """Already handled, now tested: predict.py and labels.json passed through a Windows editor (CRLF, and a BOM on
    predict.py too) give the same output, in a Python of its own."""
    export = _tiny_onnx_export(tmp_path / "export")
    _photo(seed=1).save(tmp_path / "a.jpg")
    run = lambda: subprocess.run([sys.executable, "-I", str(export), "a.jpg"], capture_output=True,  # noqa: E731
                                 timeout=120, cwd=tmp_path)
    before = run()
    for name, bom in (("predict.py", b"\xef\xbb\xbf"), ("labels.json", b"")):
        text = (export.parent / name).read_bytes()
        (export.parent / name).write_bytes(bom + text.replace(b"\n", b"\r\n"))
    after = run()
    assert (after.returncode, after.stdout, after.stderr) == (before.returncode, before.stdout, before.stderr) == (
        0, b"a.jpg\n  1. Tower (landmark 7): 0.929\n  2. Pont (landmark 8): 0.071\n", b"")
