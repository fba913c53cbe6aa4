"""The exported predict.py against `glr predict` on odd files and odd places: the same model input, or glr's own
message naming the file and what is wrong, never a traceback or a hang. The template alone: no model, no run."""

from __future__ import annotations

import functools
import io
import os
import struct
import threading
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glr.errors import GlrError
from test_export import template_script
from test_robustness_export import _photo


@pytest.fixture
def script(tmp_path):
    """The exported predict.py (its onnx template, a tiny note and one label), with a model that always says 1.0."""
    module = template_script(tmp_path / "export", [{"index": 0, "landmark_id": 7, "name": "Tower"}])
    module.load_model = lambda: (lambda x: (np.ones((len(x), 1), np.float32), None))
    return module


def glr_says(path) -> str:
    """glr's Predictor's message for a photo it refuses (glr predict prints it after the photo's name)."""
    from glr.errors import ImageError
    from glr.predict import eval_view

    with pytest.raises(ImageError) as refused:
        eval_view(path, 32)
    return str(refused.value)


def predicted(out: str) -> list[str]:
    """The photos predict.py printed a top-5 for."""
    return [line.split("  ")[0] for line in out.splitlines() if not line.startswith("  ")]


def _png_of_empty_chunks(count: int) -> bytes:
    """A small PNG with `count` empty chunks before its picture, as a decompression bomb of chunks is made."""
    buffer = io.BytesIO()
    _photo(40, 30).save(buffer, "PNG")
    raw = buffer.getvalue()
    empty = struct.pack(">I", 0) + b"abCd" + struct.pack(">I", zlib.crc32(b"abCd"))
    return raw[:33] + empty * count + raw[33:]


def test_predict_py_refuses_a_png_of_a_million_empty_chunks_at_once_as_glr_does(script, tmp_path, capsys):
    """glr refuses it before Pillow walks the chunks; predict.py walked them for 4.4 s (12 MB) and then predicted."""
    bomb, few = tmp_path / "chunks.png", tmp_path / "few.png"
    bomb.write_bytes(_png_of_empty_chunks(1_000_000))
    few.write_bytes(_png_of_empty_chunks(200))  # a few hundred: still a photo, for both
    start = time.perf_counter()
    assert script.main([str(bomb)]) == 1
    assert time.perf_counter() - start < 1.0
    assert capsys.readouterr().err.strip() == glr_says(bomb) == (
        f"{bomb}: a PNG of over 10,000 chunks before its picture (photos have a few dozen); possibly a decompression bomb")
    assert script.main([str(few)]) == 0 and predicted(capsys.readouterr().out) == [str(few)]


NOT_PHOTOS = {
    "report.pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" + bytes(300),
    "page.jpg": b"<!DOCTYPE html><html><body>Not found</body></html>",
    "photos.jpg": b"PK\x03\x04" + bytes(300),
    "clip.jpg": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(300),
    "new.jxl": b"\xff\x0a" + bytes(300),
    "raw.jpg": b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom" + bytes(300),
    "lfs.jpg": b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n",
    "denied.jpg": b"403 Forbidden\nYou do not have access to this photo.\n",
}


def test_predict_py_names_a_file_that_is_no_photo_as_glr_does(script, tmp_path, capsys):
    """A PDF was "not readable as a photo (UnidentifiedImageError: cannot identify image file '...')" in predict.py,
    where glr says what it is: "is a PDF document", "a video", "a Git LFS pointer", "text, beginning '403 Forbidden'"."""
    for name, data in NOT_PHOTOS.items():
        (tmp_path / name).write_bytes(data)
    good = tmp_path / "good.jpg"
    _photo().save(good)
    assert script.main([str(tmp_path / name) for name in NOT_PHOTOS] + [str(good)]) == len(NOT_PHOTOS)
    out, err = capsys.readouterr()
    assert err.splitlines() == [glr_says(tmp_path / name) for name in NOT_PHOTOS]
    assert err.splitlines()[0] == (f"{tmp_path / 'report.pdf'}: not an image, it looks like a PDF document; use JPEG, "
                                   "PNG, WebP, HEIC, AVIF, GIF, BMP, TIFF or ICO")
    assert predicted(out) == [str(good)]


def test_predict_py_refuses_a_pipe_at_once_and_lists_one_in_a_folder_as_glr_does(script, tmp_path, capsys):
    """A FIFO named as a photo hung predict.py for ever (Pillow waited for a writer); glr says "not a regular file".
    In a folder, both list it as skipped, "not a regular file (a named pipe)", whatever its name, and never open it
    (both passed it over in silence, where the same pipe given alone is named)."""
    from glr.submission import scan_folder

    photos = tmp_path / "photos"
    photos.mkdir()
    _photo().save(photos / "a.jpg")
    os.mkfifo(photos / "pipe.jpg")
    result = []
    worker = threading.Thread(target=lambda: result.append(script.main([str(photos / "pipe.jpg")])), daemon=True)
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():  # let the hung open return, so the test ends
        os.close(os.open(photos / "pipe.jpg", os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("predict.py hung on a pipe")
    assert result == [1] and capsys.readouterr().err.strip() == glr_says(photos / "pipe.jpg") == (
        f"{photos / 'pipe.jpg'}: not a regular file")
    os.mkfifo(photos / "pipe")  # no extension: listed all the same, as glr lists it
    assert script.main([str(photos)]) == 0
    out, err = capsys.readouterr()
    found, skipped = scan_folder(photos)
    assert predicted(out) == found == [str(photos / "a.jpg")]
    assert err.splitlines() == [f"  skipped {path}: {why}" for path, why in skipped] == [
        f"  skipped {photos / name}: not a regular file (a named pipe)" for name in ("pipe", "pipe.jpg")]


def test_predict_py_says_a_link_that_leads_in_a_circle_cannot_be_read_as_glr_does(script, tmp_path, capsys):
    """A link to itself, or two to each other: "not readable as a photo (OSError: [Errno 40] ...)" in predict.py;
    glr says "cannot be read (Too many levels of symbolic links)". In a folder both list them as skipped."""
    from glr.submission import scan_folder

    photos = tmp_path / "photos"
    photos.mkdir()
    _photo().save(photos / "a.jpg")
    (photos / "loop.jpg").symlink_to("loop.jpg")
    (photos / "x.jpg").symlink_to("y.jpg")
    (photos / "y.jpg").symlink_to("x.jpg")
    (photos / "again").symlink_to(".", target_is_directory=True)  # a folder that holds itself: not walked
    loops = [photos / name for name in ("loop.jpg", "x.jpg")]
    assert script.main(list(map(str, loops))) == 2
    assert capsys.readouterr().err.splitlines() == [glr_says(path) for path in loops] == [
        f"{path}: cannot be read (Too many levels of symbolic links)" for path in loops]
    assert script.main([str(photos)]) == 0
    out, err = capsys.readouterr()
    found, skipped = scan_folder(photos)
    assert predicted(out) == found == [str(photos / "a.jpg")]
    assert err.splitlines() == [f"  skipped {path}: {why}" for path, why in skipped] and len(skipped) == 3
    # Their targets are there, in a circle: "which is not there (moved, deleted...)" sent the user looking for them.
    assert all("leads in a circle back to itself, so it cannot be read" in why for _, why in skipped), skipped


def test_predict_py_says_a_photo_gone_between_listing_and_reading_and_dash_as_glr_does(script, tmp_path, monkeypatch,
                                                                                        capsys):
    """A photo deleted (or synced away) after the folder was listed: "file not found" from both, and the other photos
    predicted. `-`: both say that standard input is not read and what to give instead (both said "file not found")."""
    from glr.predict_command import _given_once

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.jpg", "b.jpg"):
        _photo().save(photos / name)
    listed = script.photos_of

    def listing_then_gone(paths, own=frozenset()):
        found = listed(paths, own)
        (photos / "a.jpg").unlink()
        return found

    monkeypatch.setattr(script, "photos_of", listing_then_gone)
    monkeypatch.chdir(tmp_path)
    assert script.main([str(photos), "-"]) == 2
    out, err = capsys.readouterr()
    assert predicted(out) == [str(photos / "b.jpg")]
    assert err.splitlines() == [f"-: standard input is not read: give the photo files or a folder of them (a photo "
                                "piped in: save it to a file first)", f"{photos / 'a.jpg'}: file not found"]
    assert glr_says(photos / "a.jpg") == err.splitlines()[1]
    with pytest.raises(GlrError) as refused:  # glr predict, before its model loads
        _given_once([str(photos / "b.jpg"), "-"])
    assert str(refused.value) == err.splitlines()[0]


def _jpeg_with_app1(payload: bytes) -> bytes:
    """A JPEG photo with `payload` as its APP1 (EXIF) segment."""
    buffer = io.BytesIO()
    _photo().save(buffer, "JPEG")
    raw = buffer.getvalue()
    return raw[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + raw[2:]


ODD = {
    "photo.avif": lambda p: _photo().save(p),
    "broken_exif.jpg": lambda p: p.write_bytes(_jpeg_with_app1(b"Exif\x00\x00II*\x00\xff\xff\xff\x7f" + bytes(40))),
    # An orientation of 6 in an IFD cut short: both still turn it.
    "cut_exif.jpg": lambda p: p.write_bytes(_jpeg_with_app1(b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05"
                                                            b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00" + b"\xff" * 8)),
    "strip.jpg": lambda p: _photo(65_000, 10, seed=2).save(p, quality=80),
    "strip.png": lambda p: _photo(10, 65_000, seed=2).save(p),
}


@pytest.mark.parametrize("name", list(ODD))
def test_predict_py_sees_an_avif_a_broken_exif_or_a_65000_px_strip_as_glr_does(script, tmp_path, name, capsys):
    """The same model input as glr's (within 1 grey level), and no warning: Pillow's "Corrupt EXIF data" was printed
    by predict.py, which glr keeps to itself."""
    from glr.predict import eval_view

    path = tmp_path / name
    ODD[name](path)
    assert np.abs(script.eval_view(path)[0] - eval_view(path, 32)).max() <= 1
    with warnings.catch_warnings(record=True) as shown:  # what a terminal would show (pytest keeps them off stderr)
        assert script.main([str(path)]) == 0
    assert capsys.readouterr().err == "" and [str(w.message) for w in shown] == []


def test_predict_py_refuses_a_one_pixel_photo_as_blank_as_glr_does(script, tmp_path, capsys):
    one = tmp_path / "one.png"
    Image.new("RGB", (1, 1), (200, 10, 10)).save(one)
    assert script.main([str(one)]) == 1
    assert capsys.readouterr().err.strip() == glr_says(one) == (
        f"{one}: a blank photo (one flat colour): nothing in it to recognise")


def test_an_avif_where_pillow_has_no_avif_decoder_is_said_by_both(script, tmp_path, monkeypatch, capsys):
    """A real AVIF photo, with Pillow's AVIF plugin taken away: each names the missing decoder and what to install."""
    avif = tmp_path / "photo.avif"
    _photo().save(avif)
    monkeypatch.setattr(Image, "OPEN", {k: v for k, v in Image.OPEN.items() if k != "AVIF"})
    monkeypatch.setattr(Image, "ID", [k for k in Image.ID if k != "AVIF"])
    assert script.main([str(avif)]) == 1
    assert capsys.readouterr().err.strip() == (f"{avif}: an AVIF photo, and this Pillow cannot read AVIF: pip install "
                                               "--upgrade pillow (11.3 or later), or export it as JPEG")
    assert glr_says(avif).startswith(f"{avif}: an AVIF photo, and this installation has no AVIF decoder; install")


def test_predict_py_takes_help_and_a_photo_named_like_an_option(script, tmp_path, monkeypatch, capsys):
    """`predict.py --help` and `-h` were "file not found"; `-- -beach.jpg` (as a shell user writes it) made "--" a
    missing photo; `--top-k 3` was "--top-k: file not found", as if it were a photo. A file really named so is one."""
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)
    _photo().save(tmp_path / "-beach.jpg")
    assert script.asked_for(["--help"]) is None and script.asked_for(["a.jpg", "-h"]) is None
    assert script.asked_for(["--", "-beach.jpg"]) == (["-beach.jpg"], None)
    assert script.asked_for(["-beach.jpg"]) == (["-beach.jpg"], None)
    assert script.main(["--top-k", "-beach.jpg"]) == 1
    out, err = capsys.readouterr()
    assert predicted(out) == ["-beach.jpg"]
    # Reached only after "--" (or from main): what predict.py takes now, where it said "takes no options but --out".
    assert err.splitlines() == ["--top-k: no such photo or folder; predict.py's options (--out FILE.csv, --top-k N) go "
                                "before --, photos and folders after it"]
    assert script.cli(["--", "--top-k", "-beach.jpg"]) == 1  # `predict.py -- --top-k ...`: said as the option it is
    assert capsys.readouterr().err.startswith("--top-k: no such photo or folder; predict.py's options (--out FILE.csv")
    # The real script: the usage, exit 0, before any model is loaded (there is none beside this one).
    shown = subprocess.run([sys.executable, str(Path(script.__file__)), "--help"], capture_output=True, text=True,
                           timeout=120)
    assert shown.returncode == 0 and shown.stdout.startswith("Top-5 landmarks of a photo") and not shown.stderr
    (tmp_path / "--help").write_bytes(b"x")
    assert script.asked_for(["--help"]) == (["--help"], None)


def test_predict_py_says_a_folder_it_cannot_list_as_glr_does(script, tmp_path, monkeypatch, capsys):
    """A sub-folder predict.py cannot look in (another user's, chmod 000) was passed over in silence (rglob ignores
    it), where glr lists it as skipped; a hidden one stays unsaid by both."""
    from glr import submission

    photos = tmp_path / "photos"
    for name in ("a.jpg", "locked/b.jpg", "c/d.jpg", ".cache/e.jpg"):
        (photos / name).parent.mkdir(parents=True, exist_ok=True)
        _photo().save(photos / name)
    real = os.scandir

    def scandir(path="."):  # as chmod 000 does for a user who is not root (the tests may run as root)
        if os.path.basename(os.fspath(path)) in ("locked", ".cache"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert script.main([str(photos)]) == 0
    out, err = capsys.readouterr()
    found, skipped = submission.scan_folder(photos)
    assert predicted(out) == found == [str(photos / "a.jpg"), str(photos / "c" / "d.jpg")]
    assert err.splitlines() == [f"  skipped {path}: {why}" for path, why in skipped] == [
        f"  skipped {photos / 'locked'}: a folder that cannot be listed (Permission denied): its photos are not predicted"]


@pytest.mark.parametrize("stop, code, said", [
    (KeyboardInterrupt(), 130, "interrupted\n"), (BrokenPipeError(), 141, ""),
    (OSError(28, "No space left on device"), 1, "predict.py: the output cannot be written: No space left on device\n")])
def test_predict_py_stopped_by_ctrl_c_a_closed_pipe_or_a_full_disk_says_so_without_a_traceback(
        script, tmp_path, monkeypatch, capsys, stop, code, said):
    """Ctrl-C over a big folder, `predict.py photos | head`, `> /dev/full`: a KeyboardInterrupt, BrokenPipeError or
    OSError traceback; now the exit codes glr gives (130, 141, 1), and a word for Ctrl-C and a full disk."""
    def stopped(paths, out=None):
        raise stop

    monkeypatch.setattr(script, "main", stopped)
    assert script.cli([str(tmp_path)]) == code
    assert capsys.readouterr().err == said
    monkeypatch.undo()
    assert script.cli([]) == 1 and capsys.readouterr().err.startswith("Top-5 landmarks of a photo")


def test_predict_py_given_a_folder_twice_says_so_once(script, tmp_path, capsys):
    """`predict.py trip trip/` printed "given twice" for each of its photos (1,000 lines for 1,000 photos), where glr
    says it once of the folder."""
    from glr.predict_command import _given_once

    trip = tmp_path / "trip"
    trip.mkdir()
    for i in range(3):
        _photo().save(trip / f"{i}.jpg")
    assert script.main([str(trip), f"{trip}/"]) == 0
    out, err = capsys.readouterr()
    assert predicted(out) == [str(trip / f"{i}.jpg") for i in range(3)]
    assert err.splitlines() == [f"note: {trip} was given twice: predicted once"]
    assert _given_once([str(trip), f"{trip}/"]) == [str(trip)]
    assert capsys.readouterr().err.splitlines() == err.splitlines()


def _same_view(script, path) -> float:
    """How far predict.py's model input for `path` is from glr's (grey levels); both must decode it."""
    from glr.predict import eval_view

    return float(np.abs(script.eval_view(path)[0] - eval_view(path, 32)).max())


def test_predict_py_turns_a_photo_whose_exif_block_is_damaged_as_glr_does(script, tmp_path, capsys):
    """Pillow's exif_transpose failed on each (predict.py: "not readable as a photo (TypeError: bad operand type for
    abs(): 'str')"), where glr turns the pixels alone (glr.data.orientation, now copied into predict.py)."""
    from test_orientation import DAMAGED, TURN, _exif, _jpeg

    for case, tag in DAMAGED.items():
        path = tmp_path / f"{case}.jpg"
        path.write_bytes(_jpeg(_exif(TURN, tag)))
        assert script.main([str(path)]) == 0, capsys.readouterr().err
        assert _same_view(script, path) <= 1, case


@pytest.mark.parametrize("mode", ["RGB", "L", "I;16"])
def test_predict_py_puts_a_png_colour_keys_transparent_pixels_on_white_as_glr_does(script, tmp_path, mode):
    """A tRNS colour key (what optipng makes of a cut-out): predict.py showed the key colour, up to 255 levels off."""
    from test_pixel_modes import _keyed

    path = tmp_path / "keyed.png"
    path.write_bytes(_keyed(mode))
    assert _same_view(script, path) <= 1


@pytest.mark.parametrize("colour_type, trns", [(2, b"\0\0"), (0, b"\0")])
def test_predict_py_decodes_a_png_whose_trns_chunk_is_too_short_as_glr_does(script, tmp_path, colour_type, trns,
                                                                            capsys):
    """predict.py said "not readable as a photo (ValueError: Truncated tRNS chunk)"; glr, as libpng, drops the chunk."""
    from test_images import quadrants
    from test_pixel_modes import _chunk

    pixels = quadrants() if colour_type == 2 else quadrants()[..., 0]
    rows = b"".join(b"\0" + row.tobytes() for row in pixels)
    path = tmp_path / "logo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, colour_type, 0, 0, 0))
                     + _chunk(b"tRNS", trns) + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b""))
    assert script.main([str(path)]) == 0, capsys.readouterr().err
    assert _same_view(script, path) <= 1


@pytest.mark.parametrize("fmt", ["TGA", "PCX", "PPM"])
def test_predict_py_refuses_a_format_glr_does_not_decode_as_glr_does(script, tmp_path, fmt, capsys):
    """Pillow opens many formats glr refuses (each is more decoder code on untrusted bytes); predict.py decoded them."""
    path = tmp_path / f"photo.{fmt.lower()}"
    _photo(64, 48).save(path, fmt)
    assert script.main([str(path)]) == 1
    assert capsys.readouterr().err.strip() == glr_says(path) == (
        f"{path}: a {fmt} image, a format glr cannot read; save it again as JPEG or PNG (glr reads JPEG, PNG, WebP, HEIC, "
        "AVIF, GIF, BMP, TIFF or ICO)")


def test_predict_py_reads_an_ico_at_its_largest_size_as_glr_does(script, tmp_path, capsys):
    """An ICO (a site's icon saved from a web page) holds BMP and PNG pictures: glr reads its largest (copied rule)."""
    path = tmp_path / "favicon.ico"
    _photo(64, 64).save(path, "ICO", sizes=[(16, 16), (64, 64), (32, 32)])
    assert script.main([str(path)]) == 0, capsys.readouterr().err
    assert _same_view(script, path) <= 1


def test_predict_py_lists_a_folders_other_files_and_broken_links_as_glr_does(script, tmp_path, capsys):
    """predict.py passed over the files that are no photos in silence, and a broken link unless its name was a photo's;
    glr lists each as skipped, saying why (the first 20, the rest counted by extension). A photo without an extension
    (`IMG_7` from a card) is read by its first bytes, as glr reads it; predict.py skipped every file without one. A raw,
    a photo app's sidecars and a Live Photo's video are said by kind, one line each, as glr.data.skipped_files says them."""
    from glr.predict_command import _say_skipped
    from glr.submission import scan_folder

    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    _photo().save(photos / "a.jpg")
    _photo().save(photos / "sub" / "IMG_7", "JPEG")
    for name in ["notes.txt", "README", "sub/clip.mov", "Thumbs.db", "~$list.docx", ".hidden.txt", "DSC_1.NEF",
                 "a.jpg.xmp", "sub/IMG_7.AAE", "sub/IMG_8.aae"] + [f"sub/{i:02}.json" for i in range(20)]:
        (photos / name).write_bytes(b"x")
    for name in ("gone.txt", "gone.jpg", "gone"):
        (photos / name).symlink_to(tmp_path / "nowhere")
    assert script.main([str(photos)]) == 0
    out, err = capsys.readouterr()
    found, skipped = scan_folder(photos)
    _say_skipped(skipped)
    assert predicted(out) == found == [str(photos / "a.jpg"), str(photos / "sub" / "IMG_7")]
    assert err.splitlines() == capsys.readouterr().err.splitlines() and len(err.splitlines()) == 24
    assert [line.split(" (e.g.")[0] for line in err.splitlines()[-3:]] == [
        "  1 camera raw photo", "  1 video", "  3 sidecar files"]


def _parity_cases() -> dict:
    """Every photo case glr's own tests read or refuse (docs/robustness.md), each a function giving its bytes (made when
    its case runs: a few take seconds): predict.py must do the same."""
    from test_images import (OTHER_FORMATS, VARIANTS, _apng_with_a_default_image, _jpeg_of_many_scans, _lossless_jpeg,
                             _orientation, quadrants)
    from test_pixel_modes import RAMP, _chunk, _float_tiff, _grey_png_with_gamma
    from test_robustness_export import FIXTURES
    from test_robustness_images import UNREADABLE, encode, halves, noise_jpeg
    from test_robustness_photos import ARCHIVES, RAWS, _avif_with_damaged_planes, _icon, _palette_png

    cases = {f"variant-{name}": lambda data=data: data for name, (data, _) in VARIANTS.items()}
    cases |= {f"unreadable-{name}": lambda data=data: data for name, (data, _) in UNREADABLE.items()}
    cases |= {f"other-{name}": make for name, (make, _) in OTHER_FORMATS.items()}
    cases |= {f"archive-{name}": lambda data=data: data for name, (data, _) in ARCHIVES.items()}
    cases |= {f"raw-{name}": lambda data=data: data for name, (data, _) in RAWS.items()}

    png = functools.cache(lambda: encode(Image.new("1", (20000, 20000)), "PNG"))
    heic, gif, raw = (FIXTURES / "photo.heic").read_bytes(), encode(Image.new("P", (1, 1)), "GIF"), encode(halves(), "PNG")
    iccp = functools.cache(lambda: b"iCCP" + b"icc\0\0" + zlib.compress(b"\0" * 200_000_000, 9))
    photo, noise = _photo(64, 48), noise_jpeg()
    return cases | {
        # An ICO of one 20000x20000 PNG (its directory says 256 px at most), and a palette PNG's tRNS of 300 entries:
        # predict.py decoded the first (glr refuses it as a bomb) and made the second's index 1 see-through (glr: opaque).
        "ico-bomb": lambda: struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png()), 22)
        + png(),
        "ico": lambda: _icon()[0],
        "palette-trns-over-256": lambda: _palette_png(bytes([255, 0] + [255] * 298)),
        "palette-trns-longer-than-palette": lambda: _palette_png(bytes([255, 0, 255])),
        "tga": lambda: encode(halves(64, 48), "TGA"),
        "pcx": lambda: encode(halves(64, 48), "PCX"),
        "sgi": lambda: encode(halves(64, 48), "SGI"),
        "float-tiff": lambda: _float_tiff(RAMP * 255.0),
        "float-tiff-nan": lambda: _float_tiff(np.where(RAMP > 0.5, np.nan, RAMP)),
        "png-16-bit-grey": lambda: encode(Image.fromarray((RAMP * 65535).astype(np.uint16)), "PNG"),
        "png-gamma": lambda: _grey_png_with_gamma([5, 64, 128, 250] * 16, 100000),
        "jpeg-lossless": lambda: _lossless_jpeg(quadrants()),
        "jpeg-12-bit": lambda: _lossless_jpeg(quadrants()[..., 1].astype(np.uint16) * 16, 12),
        "jpeg-of-500-scans": lambda: _jpeg_of_many_scans(1024, 500),
        "bigtiff-cut": lambda: encode(photo, "TIFF", big_tiff=True)[:300],
        # predict.py sniffed the first kilobyte only, and read this DNG as a TIFF; a damaged HEIC, its decoder here, was
        # "no HEIC decoder is installed: pip install pi-heif".
        "dng-directory-past-1-kb": lambda: _tiff_with_ifd_at(5000),
        "heic-damaged": lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
        "avif-damaged-picture": _avif_with_damaged_planes,  # was a RuntimeError out of glr, "not readable" from predict.py
        "avif-damaged": lambda: b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1heic" + bytes(200),
        "heic-cut": lambda: heic[:len(heic) // 2],
        "png-bomb-100-mp": lambda: encode(Image.new("1", (10000, 10000)), "PNG"),
        "gif-screen-65535-square": lambda: gif[:6] + (65535).to_bytes(2, "little") * 2 + gif[10:],
        "png-colour-profile-bomb": lambda: raw[:33] + struct.pack(">I", len(iccp()) - 4) + iccp()
        + struct.pack(">I", zlib.crc32(iccp())) + raw[33:],
        "jpeg-cut-before-its-picture": lambda: noise[:noise.index(b"\xff\xda")],
        "apng-default-image-not-a-frame": lambda: _apng_with_a_default_image(halves(64, 48), [photo, halves(64, 48)]),
        "mpo": lambda: encode(photo, "MPO", save_all=True, append_images=[photo.rotate(180)]),
        "jpeg-arithmetic": lambda: (FIXTURES / "arithmetic.jpg").read_bytes(),
        "jpeg-arithmetic-progressive": lambda: (FIXTURES / "arithmetic-progressive.jpg").read_bytes(),
        "tiff-32-bit-integer": lambda: encode(Image.fromarray((RAMP * 200_000).astype(np.int32), "I"), "TIFF"),
        "tiff-float-all-nan": lambda: _float_tiff(np.full((64, 64), np.nan)),
        "png-gamma-and-srgb": lambda: _grey_png_with_gamma([5, 64, 128, 250] * 16, 100000, _chunk(b"sRGB", b"\0")),
        "text-403": lambda: b"403 Forbidden\n\nYou do not have access to this photo.\n",
        "git-lfs-pointer": lambda: b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 12345\n",
        "psd": lambda: b"8BPS\x00\x01" + bytes(64),
        "one-by-one": lambda: encode(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"),
        "ten-by-ten-thousand": lambda: encode(_photo(10, 10000, seed=4), "PNG"),
        "orientation-9": lambda: encode(photo, "JPEG", exif=_orientation(9)),
    } | _decoded_as_chromium_cases()


def _decoded_as_chromium_cases() -> dict:
    """The photos glr now shows as Chromium 156 does (session 29): turned only where Chromium turns them, a PNG's gAMA
    with cHRM, an iCCP holding no profile, a too-short colour chunk, cICP and nclx colours, camera raws and a TGA too
    large to open named. predict.py read each as Pillow alone does (sideways, washed out, "truncated", a thumbnail)."""
    from test_orientation import SHOWN
    from test_pixel_modes import ADOBE_RGB, DISPLAY_P3, _chrm, _gama, _patches_avif, _patches_png, _srgb_iccp
    from test_robustness_photos import CAMERA_RAWS, LINEAR, _camera_tiff, _encode, _grey_png, _png_chunk, _tga

    no_profile = _png_chunk(b"iCCP", b"x\x00\x00" + zlib.compress(b"garbage" * 40))
    cicp_p3 = _png_chunk(b"cICP", bytes([12, 13, 0, 1]))
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (12, 16, 3), np.uint8)).resize((320, 240))
    half = lambda **kw: (lambda data: data[:len(data) // 2])(_encode(noise, "JPEG", quality=90, **kw))  # noqa: E731
    cases = {f"shown-{name}": make for name, (make, _) in SHOWN.items()}
    cases |= {f"camera-{name}": lambda data=data: data for name, (data, _) in CAMERA_RAWS.items()}
    return cases | {
        "png-gamma-2.2-adobe-rgb": lambda: _patches_png(_gama(1 / 2.2), _chrm(ADOBE_RGB)),
        "png-linear-adobe-rgb": lambda: _patches_png(_gama(1.0), _chrm(ADOBE_RGB)),
        "png-gamma-2.2-display-p3": lambda: _patches_png(_gama(1 / 2.2), _chrm(DISPLAY_P3)),
        "png-iccp-no-profile-and-gamma": lambda: _patches_png(no_profile, _gama(1.0)),
        "png-iccp-no-profile-gamma-and-chrm": lambda: _patches_png(no_profile, _gama(1.0), _chrm(ADOBE_RGB)),
        "png-gama-empty": lambda: _grey_png(_png_chunk(b"gAMA", b"")),
        "png-gama-2-bytes": lambda: _grey_png(_png_chunk(b"gAMA", b"\x00\x01")),
        "png-chrm-28-bytes-beside-gamma": lambda: _grey_png(LINEAR, _png_chunk(b"cHRM", bytes(28))),
        "png-srgb-empty-beside-gamma": lambda: _grey_png(LINEAR, _png_chunk(b"sRGB", b"")),
        "png-phys-3-bytes": lambda: _grey_png(_png_chunk(b"pHYs", b"\x00\x01\x02")),
        "png-iccp-empty": lambda: _grey_png(_png_chunk(b"iCCP", b"")),
        "png-cicp-display-p3": lambda: _patches_png(cicp_p3),
        "png-cicp-linear": lambda: _patches_png(_png_chunk(b"cICP", bytes([1, 8, 0, 1]))),
        "png-cicp-before-iccp": lambda: _patches_png(_srgb_iccp(), cicp_p3),
        "avif-nclx-display-p3": lambda: _patches_avif(12, 13),
        "avif-nclx-bt2020": lambda: _patches_avif(9, 13),
        "avif-nclx-linear": lambda: _patches_avif(1, 8),
        "avif-nclx-p3-bt709-transfer": lambda: _patches_avif(12, 1),
        "avif-nclx-gamma-2.2": lambda: _patches_avif(1, 4),
        "avif-srgb-profile-before-nclx-p3": _avif_with_a_profile_and_nclx_p3,
        "png-cicp-pq": lambda: _patches_png(_png_chunk(b"cICP", bytes([9, 16, 0, 1]))),
        "tga-past-pillows-open-limit": lambda: _tga(30000, 30000),
        "tga-65535-square": lambda: _tga(65535, 65535),
        "jpeg-progressive-cut-half-way": lambda: half(progressive=True),
        "jpeg-baseline-cut-half-way": lambda: half(progressive=False),
        "nikon-own-tiff": lambda: _camera_tiff(">", b"NIKON CORPORATION"),  # no sensor data: a photo, decoded
        "tiff-subifds-no-maker": lambda: _camera_tiff("<", b"", sub_ifds=True),
    }


def _avif_with_a_profile_and_nclx_p3() -> bytes:
    """An AVIF of orange (200,100,50) and blue with an sRGB ICC profile and an nclx box saying Display P3: its profile
    counts (glr.data.images.with_colour_code), where a PNG's cICP comes before its iCCP."""
    from PIL import ImageCms

    buffer = io.BytesIO()
    img = Image.new("RGB", (80, 10), (200, 100, 50))
    img.paste((50, 150, 220), (40, 0, 80, 10))
    img.save(buffer, "AVIF", quality=100, subsampling="4:4:4",
             icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data = buffer.getvalue()
    at = data.index(b"colrnclx") + 8
    return data[:at] + bytes([0, 12, 0, 13]) + data[at + 4:]


def _tiff_with_ifd_at(offset: int) -> bytes:
    """A DNG whose first directory (holding DNGVersion) lies `offset` bytes in: a TIFF header, padding, then the IFD."""
    entry = struct.pack("<HHI", 50706, 1, 4) + bytes([1, 4, 0, 0])
    return b"II*\x00" + struct.pack("<I", offset) + bytes(offset - 8) + struct.pack("<H", 1) + entry + bytes(4)


PARITY = _parity_cases()


@pytest.mark.parametrize("case", list(PARITY))
def test_predict_py_reads_or_refuses_each_photo_case_as_glr_does(script, tmp_path, case, capsys):
    """One table: each photo case glr reads, predict.py reads to the same model input (within 1 level); each glr refuses,
    predict.py refuses in glr's words. Named .jpg, as a photo would be: the bytes decide."""
    from glr.errors import ImageError
    from glr.predict import eval_view

    path = tmp_path / f"{case}.jpg"
    path.write_bytes(PARITY[case]())
    try:
        ours = eval_view(path, 32)
    except ImageError as exc:
        assert script.main([str(path)]) == 1
        assert capsys.readouterr().err.strip() == str(exc)
    else:
        assert np.abs(script.eval_view(path)[0] - ours).max() <= 1


def test_predict_py_in_a_python_of_its_own_shows_each_photo_as_chromium_does_as_glr_does(script, tmp_path):
    """The session-29 cases, decoded by predict.py under `python -I` (no glr in the process to set Pillow's limits or
    lend a decoder): the same model input as glr's, or glr's words. predict.py had turned a PNG whose eXIf follows its
    pixels, refused a PNG with a too-short gAMA, cHRM, sRGB, pHYs or iCCP as "truncated", and read a PNG's cICP and an
    AVIF's nclx colours as sRGB (a Display P3 photo's orange 215,93,31 as 200,100,50)."""
    import json
    import subprocess
    import sys

    from glr.errors import ImageError
    from glr.predict import eval_view

    cases, photos = _decoded_as_chromium_cases(), tmp_path / "photos"
    photos.mkdir()
    for case, make in cases.items():
        (photos / f"{case}.jpg").write_bytes(make())
    code = ("import importlib.util, json, sys, numpy\n"
            "spec = importlib.util.spec_from_file_location('p', 'predict.py'); m = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(m)\n"
            "said, views = {}, {}\n"
            "for case in sys.argv[1:]:\n"
            f"    path = {str(photos)!r} + '/' + case + '.jpg'\n"
            "    try:\n"
            "        views[case] = m.eval_view(path)[0]\n"
            "    except m.ImageError as exc:\n"
            "        said[case] = str(exc)\n"
            f"numpy.savez({str(tmp_path / 'views.npz')!r}, **views)\n"
            "print(json.dumps(said))\n")
    done = subprocess.run([sys.executable, "-I", "-c", code, *cases], capture_output=True, text=True, timeout=120,
                          cwd=Path(script.__file__).parent)
    assert done.returncode == 0 and not done.stderr, done.stderr[-2000:]
    said, views = json.loads(done.stdout), np.load(tmp_path / "views.npz")
    for case in cases:
        try:
            ours = eval_view(photos / f"{case}.jpg", 32)
        except ImageError as exc:
            assert said.get(case) == str(exc), case
        else:
            assert case in views and np.abs(views[case] - ours).max() <= 1, case
    refused = {case for case in cases if case.startswith(("camera-", "tga-", "jpeg-"))}  # named, or cut: by both
    assert set(said) == refused and set(views) == set(cases) - refused
    # The whole script with a real ONNX model on the folder: each photo predicted or said, no traceback.
    from test_robustness_export import _tiny_onnx_export

    export = _tiny_onnx_export(tmp_path / "onnx")
    done = subprocess.run([sys.executable, "-I", str(export), "."], capture_output=True, text=True, timeout=120,
                          cwd=photos)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]  # some not predicted
    assert sorted(done.stderr.splitlines()) == sorted(said[case].replace(str(photos) + "/", "") for case in refused)
    assert sorted(predicted(done.stdout)) == sorted(f"{case}.jpg" for case in set(cases) - refused)


class _GoneReader(io.StringIO):
    """A stdout whose reader has left (`| head` after its lines): every write after the first `lines` breaks the pipe."""

    def __init__(self, lines: int):
        super().__init__()
        self.lines = lines

    def write(self, text):
        if self.getvalue().count("\n") >= self.lines:
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


def test_predict_py_with_out_and_its_listing_cut_short_still_writes_the_csv(script, tmp_path, monkeypatch, capsys):
    """`predict.py photos --out x.csv | head -3`: the BrokenPipeError of the listing discarded the CSV (an hour of
    photos lost); now the CSV holds every photo and predict.py exits 141, as glr predict does."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        _photo().save(photos / f"{i}.jpg")
    monkeypatch.setattr("sys.stdout", _GoneReader(3))
    out = tmp_path / "x.csv"
    assert script.cli([str(photos), "--out", str(out)]) == 141
    rows = out.read_text(encoding="utf-8-sig").splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == [str(photos / f"{i}.jpg") for i in range(3)]
    assert capsys.readouterr().err == f"wrote {out}\n"
    monkeypatch.setattr("sys.stdout", _GoneReader(3))  # no CSV asked for: nothing to finish, it stops at once
    assert script.cli([str(photos)]) == 141
    assert capsys.readouterr().err == ""


def test_predict_py_says_a_zip_in_a_folder_is_to_be_unzipped(script, tmp_path, capsys):
    """A zip among the photos was ".zip is not an image type". predict.py now opens a zip given alone, as glr predict
    does (test_export_photos.py), so it says of one in a folder what glr.submission.scan_folder says."""
    from glr.submission import ZIP_IN_FOLDER

    photos = tmp_path / "photos"
    photos.mkdir()
    _photo().save(photos / "a.jpg")
    (photos / "album.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    assert script.main([str(photos)]) == 0
    assert capsys.readouterr().err == f"  skipped {photos / 'album.zip'}: {ZIP_IN_FOLDER}\n"


def test_predict_py_says_a_file_without_an_extension_it_cannot_read_as_glr_does(script, tmp_path, monkeypatch, capsys):
    """A file without an extension gone between the folder's listing and the reading of its first bytes (or one
    without the right to read it) was "its first bytes are not a photo's", by glr predict and predict.py alike."""
    from glr import submission
    from glr.predict_command import _say_skipped

    photos = tmp_path / "photos"
    photos.mkdir()
    _photo().save(photos / "a.jpg")
    (photos / "IMG_1").write_bytes(b"x")  # deleted as it is looked at: a card's folder synced away, a second copy

    def gone(photo_start):
        def deleted_first(path):
            Path(path).unlink(missing_ok=True)
            return photo_start(path)
        return deleted_first

    monkeypatch.setattr(submission, "photo_start", gone(submission.photo_start))
    _say_skipped(submission.scan_folder(photos)[1])
    glr_err = capsys.readouterr().err
    (photos / "IMG_1").write_bytes(b"x")
    monkeypatch.setattr(script, "photo_start", gone(script.photo_start))
    assert script.main([str(photos)]) == 0
    err = capsys.readouterr().err
    said = f"  skipped {photos / 'IMG_1'}: no file extension, and its first bytes cannot be read to tell whether it is " \
           "a photo (it was moved or deleted after the folder was listed)\n"
    assert glr_err == said and said in err
    if os.name == "posix" and os.geteuid() != 0:  # root reads any file
        (photos / "IMG_2").write_bytes(b"x")
        (photos / "IMG_2").chmod(0)
        _say_skipped(submission.scan_folder(photos)[1])
        assert "IMG_2: no file extension, and its first bytes cannot be read to tell whether it is a photo (Permission " \
               "denied)" in capsys.readouterr().err


class _Watched(io.StringIO):
    """A stdout that remembers what had been flushed out of it (to a pipe's reader) when last flushed."""
    flushed = ""

    def flush(self):
        self.flushed = self.getvalue()


def test_predict_py_through_a_pipe_hands_each_photos_lines_on_before_the_next_photo(script, tmp_path, monkeypatch):
    """`predict.py photos | tee log` showed its lines 30 photos at a time (a pipe's buffer), and `| head -2` was noticed
    65 photos later; glr predict flushes each batch. Each photo's lines are now out before the next photo is read."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        _photo(40, 30, seed=i).save(photos / f"{i}.jpg")
    stdout, seen = _Watched(), []

    def model(x):
        seen.append(stdout.flushed)
        return np.ones((len(x), 1), np.float32), None

    monkeypatch.setattr(script, "load_model", lambda: model)
    monkeypatch.setattr("sys.stdout", stdout)
    assert script.cli([str(photos)]) == 0
    assert [predicted(flushed) for flushed in seen] == [[], [str(photos / "0.jpg")], [str(photos / f"{i}.jpg") for i in (0, 1)]]
    assert stdout.flushed == stdout.getvalue() and predicted(stdout.getvalue()) == [str(photos / f"{i}.jpg") for i in range(3)]


def test_predict_py_without_out_lets_each_photo_go_once_printed_as_glr_predict_does(script, tmp_path, monkeypatch,
                                                                                    capsys):
    """glr predict PHOTOS held every photo's prediction until the last was listed (100,000 photos: 121 MB); predict.py
    never did: each photo's input and the model's answer are let go once printed, whatever the number of photos."""
    import gc
    import weakref

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(5):
        _photo(40, 30, seed=i).save(photos / f"{i}.jpg")
    made = []

    def model(x):
        gc.collect()
        alive = [ref for ref in made[:-3] if ref() is not None]  # the photo just printed may still be in hand
        assert not alive, f"{len(alive)} arrays of photos printed before still held"
        answer = np.ones((len(x), 1), np.float32), np.ones((len(x), 4), np.float32)
        made.extend(map(weakref.ref, (x, *answer)))
        return answer

    monkeypatch.setattr(script, "load_model", lambda: model)
    assert script.cli([str(photos)]) == 0
    assert predicted(capsys.readouterr().out) == [str(photos / f"{i}.jpg") for i in range(5)] and len(made) == 15


def test_predict_py_says_unknown_is_ignored_once_as_glr_predict_does_for_a_run_without_a_verdict(script, tmp_path,
                                                                                                 monkeypatch, capsys):
    """`predict.py --unknown empty photos` (glr predict's option) said "--unknown: no such photo or folder" and then
    "empty: file not found", and exited 1 with every photo predicted. Now it is said once to be ignored, in glr
    predict's words for a run without a verdict, and the photos are predicted as without it."""
    from glr.predict_command import _unknown_policy

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        _photo(40, 30, seed=i).save(photos / f"{i}.jpg")
    everything = [str(photos / f"{i}.jpg") for i in range(2)]
    _unknown_policy("empty", type("NoVerdict", (), {"recognizer": None})(), True)
    glr_note = capsys.readouterr().err.strip()
    assert script.cli(["--unknown", "EMPTY", str(photos), "--unknown=keep", "--unknown", "last"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [glr_note.replace("this run", "this export")] and predicted(out) == everything
    assert script.cli(["--unknown", "last", str(photos)]) == 0  # the default: nothing to say, as glr says nothing
    out, err = capsys.readouterr()
    assert err == "" and predicted(out) == everything
    assert script.main(["--unknown", str(photos / "0.jpg")]) == 1  # no value: the photo after it is a photo, as before
    out, err = capsys.readouterr()
    assert predicted(out) == everything[:1] and err.splitlines() == [
        "--unknown: no such photo or folder; glr predict's --unknown takes last, empty or keep, and predict.py ignores it"]
    assert script.cli(["--unknown", "empty"]) == 1  # nothing but the option: as glr, no photo given is said
    assert capsys.readouterr().err.splitlines()[-1] == "predict.py: no photos or folders given: python predict.py " \
        "[--out FILE.csv] [--top-k N] PHOTO_OR_FOLDER [...]"
    monkeypatch.setattr(script, "VERDICT", {"threshold": 0.5})  # an export with a verdict: still no submission
    assert script.without_unknown(["--unknown=keep", "a.jpg"]) == ["a.jpg"]
    assert capsys.readouterr().err == "note: --unknown keep is ignored: predict.py writes no submission; its --out CSV " \
        "says of each photo whether it is called not a known landmark (not_a_known_landmark)\n"
