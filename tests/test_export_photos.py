"""The photo half of the exported predict.py (glr.export_photos) on a zip of photos: read as `glr predict` reads one
(glr.data.uploads.zip_photos' rules and words, copied), a photo at a time, nothing extracted."""

from __future__ import annotations

import io
import struct
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


def glr_predict_takes(zipped: Path, capsys) -> tuple[list, list[str]]:
    """(the photos glr predict takes from `zipped`, as uploads.ZipPhoto; the lines it says of the others on stderr)."""
    from glr.predict_command import _folders_opened

    capsys.readouterr()
    photos, _ = _folders_opened([str(zipped)])
    return photos, capsys.readouterr().err.splitlines()


def test_predict_py_reads_a_zip_of_photos_as_glr_predict_does(script, tmp_path, capsys):
    """predict.py opened no zip ("not an image but a zip archive: unzip it first") where glr predict reads its photos:
    now the same photos, in the same order and names, with the same pixels, what was skipped said in glr's words, and a
    photo the zip holds damaged said as glr says it when it comes to it."""
    from glr.predict import eval_view

    zipped = _album(tmp_path / "album.zip")
    before = sorted(p.name for p in tmp_path.iterdir())
    inside, said = glr_predict_takes(zipped, capsys)
    assert script.main([str(zipped)]) == 2  # the empty and the damaged photo
    out, err = capsys.readouterr()
    listed = [line for line in out.splitlines() if not line.startswith("  ")]
    assert listed == [photo.name for photo in inside if not photo.name.endswith(("empty.jpg", "z.jpg"))] == [
        f"{zipped}/trip/c.jpg", f"{zipped}/b.jpg", f"{zipped}/trip/day 1/a.jpg"]  # by the names stored
    with pytest.raises(Exception) as damaged:  # glr's words for it: predict.py reads each photo when it comes to it
        eval_view(inside[-1], 32)
    assert str(damaged.value).startswith(f"{zipped}/z.jpg: cannot be read (the zip is damaged: BadZipFile: ")
    assert err.splitlines() == said + [f"{zipped}/empty.jpg: empty file (0 bytes)", str(damaged.value)]
    assert "unsafe paths skipped (e.g. '../evil.jpg')" in err and "1 zip inside it not opened" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing extracted
    photos = {str(photo): photo for photo in script.photos_of([str(zipped)])[0]}
    for photo in (photo for photo in inside if photo.name in listed):
        assert np.abs(script.eval_view(photos[photo.name])[0] - eval_view(photo, 32)).max() <= 1


def _patched_zip(path: Path, members: dict, patch) -> Path:
    """A zip of `members` whose bytes `patch` (bytearray) changes in place, as other zip tools write them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    data = bytearray(buffer.getvalue())
    patch(data)
    path.write_bytes(bytes(data))
    return path


def _entry(data: bytearray, name: bytes, header: bytes = b"PK\x01\x02") -> int:
    """Where the header (the directory's by default) of the member `name` starts."""
    at = data.index(header)
    while not data[at:at + 100].count(name):
        at = data.index(header, at + 4)
    return at


def _odd(data: bytearray):
    """cafXY.jpg named in UTF-8 without the UTF-8 flag (Linux's zip, macOS, 7-Zip), a.jpg encrypted (`zip -e`)."""
    data[:] = data.replace(b"cafXY", b"caf\xc3\xa9")
    for header, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        data[_entry(data, b"a.jpg", header) + flags] |= 1


def _split(data: bytearray):
    """The last part of a split zip (album.z01, album.zip): a.jpg starts in the part before."""
    end = data.rindex(b"PK\x05\x06")
    data[end + 4:end + 8] = struct.pack("<HH", 1, 1)
    data[_entry(data, b"b.jpg") + 34:_entry(data, b"b.jpg") + 36] = struct.pack("<H", 1)


def _bomb(data: bytearray):
    """bomb.jpg declared 600 MB uncompressed, as a zip bomb named like a photo is."""
    data[_entry(data, b"bomb.jpg") + 24:_entry(data, b"bomb.jpg") + 28] = struct.pack("<I", 600 * 1024 * 1024)


ODD_ZIPS = {  # glr predict (s29) reads these as the Predict page did not; predict.py had copied the page's old rules
    "an extensionless photo, a UTF-8 name unflagged, a password": (
        {"IMG_7": "jpeg", "README": b"just text", "cafXY.jpg": "jpeg", "a.jpg": "jpeg"}, _odd),
    "the last part of a split zip": ({"a.jpg": "jpeg", "b.jpg": "jpeg"}, _split),
    "a photo declared 600 MB": ({"a.jpg": "jpeg", "bomb.jpg": b"x"}, _bomb),
    "2,001 photos, past the Predict page's limit": ({f"{i:04}.jpg": b"x" for i in range(2001)}, lambda data: None),
}


@pytest.mark.parametrize("case", list(ODD_ZIPS))
def test_predict_py_takes_an_odd_zip_as_glr_predict_does(script, tmp_path, case, capsys):
    """The same photos, by the same names, and the same lines said of the rest, as glr predict; a photo read the same."""
    from glr.predict import eval_view

    members, patch = ODD_ZIPS[case]
    members = {name: _jpeg(i) if data == "jpeg" else data for i, (name, data) in enumerate(members.items())}
    zipped = _patched_zip(tmp_path / "album.zip", members, patch)
    inside, said = glr_predict_takes(zipped, capsys)
    photos, problems = script.photos_of([str(zipped)])
    assert photos == [photo.name for photo in inside] and problems == []
    assert capsys.readouterr().err.splitlines() == said
    if photos[0].endswith(".jpg") and len(photos) < 10 or "IMG_7" in photos[0]:
        assert np.abs(script.eval_view(photos[0])[0] - eval_view(inside[0], 32)).max() <= 1


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


def test_a_zip_without_photos_or_not_a_zip_is_said_as_glr_predict_says_it(script, tmp_path, capsys):
    from glr.data import uploads

    empty = tmp_path / "notes.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("a.txt", "x")
    (tmp_path / "fake.zip").write_bytes(b"not a zip at all")
    assert script.main([str(empty), str(tmp_path / "fake.zip")]) == 2
    err = capsys.readouterr().err.splitlines()
    glr_lines = uploads.zip_photos(str(empty), str(empty))[1] + uploads.zip_photos(
        str(tmp_path / "fake.zip"), str(tmp_path / "fake.zip"))[1]
    assert err == [f"  {glr_lines[0]}", glr_lines[1], glr_lines[2]]
    assert err[1:] == [f"{empty}: holds no images (jpg, jpeg, jfif, jpe, png, webp, heic, heif, avif, bmp, gif, tif, "
                       "tiff, ico)", f"{tmp_path / 'fake.zip'}: not a valid zip archive"]


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


def test_predict_py_holds_glrs_own_zip_and_extension_rules_without_their_glr_imports(script):
    """glr's functions are pasted as they are, less their imports of glr's modules (predict.py defines those names)."""
    import inspect

    from glr.data import photo_files, uploads
    from glr.export_photos import without_glr_imports

    text = Path(script.__file__).read_text(encoding="utf-8")
    assert "from glr" not in text and "import glr" not in text
    for function in (uploads._taken, uploads._starts_as_photo, photo_files.starts_as_photo, photo_files.is_photo):
        code = inspect.getsource(function)
        assert without_glr_imports(code) in text
        assert ("from glr" in code) == (without_glr_imports(code) != code)


def _flaky_first_open(monkeypatch, path: Path) -> list[str]:
    """Make the first open of `path` fail as a network share's hiccup does (EIO), later ones work; the opens of it."""
    import builtins
    import errno

    opened, real = [], builtins.open

    def flaky(file, *args, **kwargs):
        if isinstance(file, (str, Path)) and Path(file) == path:
            opened.append(str(file))
            if len(opened) == 1:
                raise OSError(errno.EIO, "Input/output error", str(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", flaky)
    return opened


def test_a_photo_without_an_extension_whose_first_read_fails_is_never_said_to_be_no_photo(script, tmp_path, monkeypatch,
                                                                                           capsys):
    """A file without an extension whose first bytes could not be read (a share's hiccup), and could a moment later,
    was "its first bytes are not a photo's" of a photo: glr predict and predict.py opened it twice to say why. Now
    the one read's failure is the reason given, by both."""
    from glr import submission
    from glr.predict_command import _say_skipped

    photos = tmp_path / "photos"
    photos.mkdir()
    _photo().save(photos / "a.jpg")
    _photo(seed=2).save(photos / "IMG_1", "JPEG")
    said = f"  skipped {photos / 'IMG_1'}: no file extension, and its first bytes cannot be read to tell whether it is " \
           "a photo (Input/output error)\n"
    opened = _flaky_first_open(monkeypatch, photos / "IMG_1")
    _say_skipped(submission.scan_folder(photos)[1])
    assert capsys.readouterr().err == said and len(opened) == 1
    opened.clear()
    assert script.main([str(photos)]) == 0
    assert said in capsys.readouterr().err and len(opened) == 1


def test_predict_py_refuses_a_file_larger_than_any_photo_unread(script, tmp_path, capsys):
    # As glr: a 3 GB file named huge.jpg was read whole into memory before it was found to be no photo.
    huge = tmp_path / "huge.jpg"
    with open(huge, "wb") as file:  # sparse: no disk used
        file.write(_jpeg(1))
        file.truncate(script.ZIP_PHOTO_MAX_BYTES + 1)
    assert script.main([str(huge)]) == 1  # one photo given, none predicted
    assert f"{huge}: 500 MB, larger than any photo (files of up to 500 MB are read): not read" in capsys.readouterr().err
