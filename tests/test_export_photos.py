"""The photo half of the exported predict.py (glr.export_photos) on a zip of photos: read as `glr predict` reads one
(glr.data.uploads.read_zip_images' rules and words), a photo at a time, nothing extracted."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from test_export import template_script
from test_robustness_export import _photo, _tiny_onnx_export


@pytest.fixture
def script(tmp_path):
    """The exported predict.py (its onnx template, a tiny note and one label), with a model that always says 1.0."""
    module = template_script(tmp_path / "export", [{"index": 0, "landmark_id": 7, "name": "Tower"}])
    module.load_model = lambda: (lambda x: (np.ones((len(x), 1), np.float32), None))
    return module


def _jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    _photo(seed=seed).save(buffer, "JPEG")
    return buffer.getvalue()


def _album(path: Path, damaged: bool = True) -> Path:
    """A zip as people send one: nested folders, a note, a Mac's __MACOSX and .DS_Store, a NAS's @eaDir, a zip inside,
    names that climb out (`../`, `/`, `C:`), an empty photo and (`damaged`) a photo whose bytes no longer match its CRC."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("trip/day 1/a.jpg", _jpeg(1))
        zf.writestr("b.jpg", _jpeg(2))
        zf.writestr("./trip/c.jpg", _jpeg(3))
        zf.writestr("notes.txt", "not a photo")
        zf.writestr("../evil.jpg", _jpeg(4))
        zf.writestr("/etc/evil.jpg", _jpeg(4))
        zf.writestr("C:/evil.jpg", _jpeg(4))
        zf.writestr("__MACOSX/trip/._a.jpg", b"\0\5\26\7")
        zf.writestr(".DS_Store", b"\0\0\0\1Bud1")
        zf.writestr("@eaDir/b.jpg/SYNOFILE_THUMB_M.jpg", _jpeg(5))
        zf.writestr("inner.zip", b"PK\x05\x06" + bytes(18))
        zf.writestr("empty.jpg", b"")
        if damaged:
            zf.writestr("z.jpg", _jpeg(6), compress_type=zipfile.ZIP_STORED)
    if damaged:
        raw = bytearray(path.read_bytes())
        at = raw.rfind(_jpeg(6)) + 600
        raw[at] ^= 0xFF
        path.write_bytes(bytes(raw))
    return path


def test_predict_py_reads_a_zip_of_photos_as_glr_predict_does(script, tmp_path, capsys):
    """predict.py opened no zip ("not an image but a zip archive: unzip it first") where glr predict reads its photos:
    now the same photos, in the same order and names, with the same pixels, what was skipped said in glr's words."""
    from glr.data import uploads
    from glr.predict import eval_view

    zipped = _album(tmp_path / "album.zip")
    before = sorted(p.name for p in tmp_path.iterdir())
    inside, said = uploads.read_zip_images(str(zipped), str(zipped))
    assert script.main([str(zipped)]) == 2  # the empty and the damaged photo
    out, err = capsys.readouterr()
    listed = [line for line in out.splitlines() if not line.startswith("  ")]
    assert listed == [f"{zipped}/{member}" for member, _ in inside if member != "empty.jpg"] == [
        f"{zipped}/trip/c.jpg", f"{zipped}/b.jpg", f"{zipped}/trip/day 1/a.jpg"]  # by the names stored
    damaged = [line for line in said if "the zip is damaged" in line]  # glr reads every photo up front; predict.py
    assert len(damaged) == 1 and "z.jpg cannot be read" in damaged[0]  # reads each when it comes to it
    assert err.splitlines() == [f"  {line}" for line in said if line not in damaged] + [
        f"{zipped}/empty.jpg: empty file (0 bytes)", damaged[0]]
    assert "unsafe paths skipped (e.g. '../evil.jpg')" in err and "1 zip inside it not opened" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before and not (tmp_path.parent / "evil.jpg").exists()
    photos = {str(photo): photo for photo in script.photos_of([str(zipped)])[0]}
    for member, data in [item for item in inside if item[0] not in ("empty.jpg", "z.jpg")]:
        glr_view = eval_view(uploads.named_upload(f"{zipped}/{member}", data), 32)
        assert np.abs(script.eval_view(photos[f"{zipped}/{member}"])[0] - glr_view).max() <= 1


def test_a_zip_is_listed_without_reading_a_photo_and_each_is_read_when_predicted(script, tmp_path, monkeypatch):
    """One photo in memory at a time: listing a zip of photos reads none of them (glr's Predict page holds them all,
    up to 500 MB)."""
    zipped = _album(tmp_path / "album.zip", damaged=False)
    reads = []
    real = zipfile.ZipFile.read
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda self, name, pwd=None: reads.append(name) or real(self, name, pwd))
    photos, problems = script.photos_of([str(zipped), str(zipped)])
    assert reads == [] and problems == [] and len(photos) == 4
    script.eval_view(photos[0])
    assert [info.filename for info in reads] == ["./trip/c.jpg"]


def test_a_zip_without_photos_not_a_zip_or_past_glrs_limits_is_said_as_glr_predict_says_it(script, tmp_path, capsys,
                                                                                            monkeypatch):
    from glr.data import uploads

    empty = tmp_path / "notes.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("a.txt", "x")
    (tmp_path / "fake.zip").write_bytes(b"not a zip at all")
    assert script.main([str(empty), str(tmp_path / "fake.zip")]) == 2
    err = capsys.readouterr().err.splitlines()
    glr_lines = uploads.read_zip_images(str(empty), str(empty))[1] + uploads.read_zip_images(
        str(tmp_path / "fake.zip"), str(tmp_path / "fake.zip"))[1]
    assert err == [f"  {glr_lines[0]}", glr_lines[1], glr_lines[2]]
    assert err[1:] == [f"{empty}: holds no images (jpg, jpeg, jfif, jpe, png, webp, heic, heif, avif, bmp, gif, tif, "
                       "tiff, ico)", f"{tmp_path / 'fake.zip'}: not a valid zip archive"]
    zipped = _album(tmp_path / "album.zip", damaged=False)
    monkeypatch.setattr(script, "ZIP_MAX_FILES", 2)
    photos, _ = script.photos_of([str(zipped)])
    said = uploads.read_zip_images(str(zipped), str(zipped), max_files=2)[1]
    assert len(photos) == 2 and capsys.readouterr().err.splitlines() == [f"  {line}" for line in said] + [
        f"  {zipped}: to predict every photo in it, unzip it and give its folder"]


def test_out_naming_the_zip_given_is_refused_and_a_zip_in_a_folder_is_said_in_glrs_words(script, tmp_path, capsys):
    from glr.submission import scan_folder

    zipped = _album(tmp_path / "album.zip", damaged=False)
    kept = zipped.read_bytes()
    assert script.cli(["--out", str(zipped), str(zipped)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"predict.py: --out {zipped} is {zipped}, one of the zips to " \
        "predict; give the CSV another name"
    assert zipped.read_bytes() == kept
    assert script.cli(["--out", str(tmp_path / "p.csv"), str(zipped)]) == 1  # the empty photo
    rows = (tmp_path / "p.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[1].startswith(f"{zipped}/trip/c.jpg,1,7,Tower,") and f"{zipped}/empty.jpg,,,,,empty file (0 bytes)" in rows
    folder = tmp_path / "photos"
    folder.mkdir()
    _photo().save(folder / "a.jpg")
    (folder / "album.zip").write_bytes(kept)
    capsys.readouterr()
    assert script.main([str(folder)]) == 0
    assert capsys.readouterr().err == "".join(f"  skipped {path}: {why}\n" for path, why in scan_folder(folder)[1])
    assert "give the zip on its own to predict them" in scan_folder(folder)[1][0][1]


def test_a_zip_given_to_predict_py_in_a_python_of_its_own(tmp_path):
    """End to end with a real ONNX model, `python -I`: no glr, only the standard library's zipfile."""
    export = _tiny_onnx_export(tmp_path / "export")
    zipped = _album(tmp_path / "My album é.zip", damaged=False)
    done = subprocess.run([sys.executable, "-I", str(export), zipped.name], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 1, done.stderr[-2000:]  # the empty photo
    listed = [line for line in done.stdout.splitlines() if not line.startswith("  ")]
    assert listed == [f"{zipped.name}/trip/c.jpg", f"{zipped.name}/b.jpg",
                      f"{zipped.name}/trip/day 1/a.jpg"]
    assert "Traceback" not in done.stderr and f"{zipped.name}/empty.jpg: empty file (0 bytes)" in done.stderr
