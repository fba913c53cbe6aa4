"""The model leaves with the user: the exported predict.py, the predict command and the Predict page's uploads on
odd photos and odd places, each giving glr's own answer or a message that says what to do."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_export import template_script

FIXTURES = Path(__file__).parent / "fixtures"


def _photo(width: int = 400, height: int = 300, seed: int = 0) -> Image.Image:
    """A smooth photo-like RGB picture (blocks blurred by a resize), so JPEG and resizing behave as on photos."""
    blocks = np.random.default_rng(seed).integers(0, 256, (max(height // 10, 1), max(width // 10, 1), 3), np.uint8)
    return Image.fromarray(blocks).resize((width, height), Image.Resampling.BILINEAR)


def _tiff_with_a_preview_first(path: Path) -> Path:
    """A two-page TIFF as scanner and camera software write it: a 40x30 preview, then the 400x300 photo."""
    photo = _photo()
    Image.fromarray(255 - np.asarray(photo.resize((40, 30)))).save(path, save_all=True, append_images=[photo])
    return path


@pytest.fixture
def script(tmp_path):
    """The exported predict.py (its onnx template, a tiny note and one label), with a model that always says 1.0."""
    module = template_script(tmp_path / "export", [{"index": 0, "landmark_id": 7, "name": "Tower"}])
    module.load_model = lambda: (lambda x: (np.ones((len(x), 1), np.float32), None))
    return module


def test_a_tiff_whose_first_page_is_a_preview_is_the_photo_for_predict_py_and_the_size_statistics(script, tmp_path):
    """glr decodes such a TIFF by its largest early page; predict.py predicted from the preview, and the Dataset
    page's size statistics counted a 40x30 photo."""
    from glr.data.browse import image_size_stats
    from glr.data.images import image_size
    from glr.predict import eval_view

    path = _tiff_with_a_preview_first(tmp_path / "scan.tif")
    assert np.abs(script.eval_view(path)[0] - eval_view(path, 32)).max() <= 1
    assert image_size(path) == (400, 300)
    assert image_size_stats([str(path)])["sizes"].values.tolist() == [[400, 300]]


@pytest.fixture(scope="module")
def odd_photos(tmp_path_factory) -> dict[str, Path]:
    """Photos in the modes and containers phones, scanners and editors write, each saved as such a file would be."""
    photo = _photo()
    folder = tmp_path_factory.mktemp("odd photos é")
    rgba = np.asarray(photo.convert("RGBA")).copy()
    rgba[:, :200, 3], rgba[:, 200:, 3] = 0, 128
    palette = photo.convert("P")
    exif = Image.Exif()
    exif[0x0112] = 6  # a phone's portrait photo: landscape pixels turned a quarter
    other = Image.fromarray(255 - np.asarray(photo))
    saves = {
        "cmyk.jpg": lambda p: photo.convert("CMYK").save(p),
        "sixteen_bit.png": lambda p: Image.fromarray(np.asarray(photo.convert("L")).astype(np.uint16) * 257).save(p),
        "alpha.png": lambda p: Image.fromarray(rgba).save(p),
        "grey_alpha.png": lambda p: photo.convert("LA").save(p),
        "exif_rotated.jpg": lambda p: photo.save(p, exif=exif),
        "grey.jpg": lambda p: photo.convert("L").save(p),
        "one_bit.png": lambda p: photo.convert("1").save(p),
        "animated.gif": lambda p: palette.save(p, save_all=True, append_images=[other.convert("P")]),
        "animated.webp": lambda p: photo.save(p, save_all=True, append_images=[other]),
        "transparent_index.png": lambda p: palette.save(p, transparency=0),
        "lab.tif": lambda p: photo.convert("LAB").save(p),
        "twenty_thousand_wide.jpg": lambda p: _photo(20_000, 300, seed=1).save(p, quality=80),
    }
    for name, save in saves.items():
        save(folder / name)
    for heic in ("photo.heic", "photo-rotated.heic"):  # real iPhone-like HEIC files; the second turned by its tags
        (folder / f"iphone {heic}").write_bytes((FIXTURES / heic).read_bytes())
    return {name: folder / name for name in [*saves, "iphone photo.heic", "iphone photo-rotated.heic"]}


@pytest.mark.parametrize("name", ["cmyk.jpg", "sixteen_bit.png", "alpha.png", "grey_alpha.png", "exif_rotated.jpg",
                                  "grey.jpg", "one_bit.png", "animated.gif", "animated.webp", "transparent_index.png",
                                  "lab.tif", "twenty_thousand_wide.jpg", "iphone photo.heic",
                                  "iphone photo-rotated.heic"])
def test_predict_py_sees_an_odd_photo_as_glrs_predictor_does(script, odd_photos, name):
    """The same pixels in, so the same top-5 out: each mode converted, rotated, composited, scaled as glr does."""
    from glr.predict import eval_view

    path = odd_photos[name]
    assert np.abs(script.eval_view(path)[0] - eval_view(path, 32)).max() <= 1, name


def test_predict_py_names_pi_heif_for_a_heic_photo_when_it_is_not_installed(script, tmp_path, monkeypatch, capsys):
    """Without pi-heif an iPhone photo was "not readable as a photo (UnidentifiedImageError: cannot identify image
    file ...)"; glr names the missing decoder, and so does predict.py now, and goes on with the other photos. An
    empty file was "cannot identify image file" too."""
    heic = tmp_path / "my photo, été.heic"
    heic.write_bytes((FIXTURES / "photo.heic").read_bytes())
    jpeg = tmp_path / "b.jpg"
    _photo().save(jpeg)
    import PIL.Image

    monkeypatch.setattr(PIL.Image, "OPEN", {k: v for k, v in PIL.Image.OPEN.items() if k != "HEIF"})  # as if pi-heif never loaded
    monkeypatch.setattr(PIL.Image, "ID", [k for k in PIL.Image.ID if k != "HEIF"])
    assert script.main([str(heic), str(jpeg)]) == 1
    out, err = capsys.readouterr()
    assert err.strip() == (f"{heic}: a HEIC photo (an iPhone's), and no HEIC decoder is installed: pip install pi-heif, "
                           "or export it as JPEG")
    assert out.splitlines()[0] == str(jpeg)
    avif = tmp_path / "c.avif"
    avif.write_bytes(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(64))
    assert script.missing_decoder(avif) is None  # its decoder is here: a damaged AVIF, as glr says (was "cannot read")
    monkeypatch.setattr(PIL.Image, "OPEN", {k: v for k, v in PIL.Image.OPEN.items() if k != "AVIF"})
    assert script.missing_decoder(avif).startswith("an AVIF photo, and this Pillow cannot read AVIF: pip install --upgrade")
    assert script.missing_decoder(jpeg) is None
    (tmp_path / "empty.heic").write_bytes(b"")  # a download or copy that failed: was "cannot identify image file"
    assert script.main([str(tmp_path / "empty.heic")]) == 1
    assert capsys.readouterr().err.strip() == f"{tmp_path / 'empty.heic'}: empty file (0 bytes)"  # glr's words


def test_predict_py_takes_its_arguments_as_glrs_predict_does(script, tmp_path, monkeypatch, capsys):
    """A pattern Windows' cmd passes on as typed, a web address, the same photo twice, a missing file: predict.py
    said "not readable as a photo (FileNotFoundError: ...)" of a pattern and of "https:/..." (Path had eaten a slash),
    and predicted a photo given twice twice; glr expands, names and predicts once."""
    from glr.predict_command import _given_once

    photos = tmp_path / "trip, day 2 ü"
    photos.mkdir()
    for name in ("b.jpg", "a.jpg"):
        _photo().save(photos / name)
    monkeypatch.chdir(tmp_path)
    given = [f"{photos.name}/*.jpg", f"./{photos.name}/a.jpg", "https://x.org/tower.jpg?w=800", "*.png", "missing.jpg"]
    assert script.main(given) == 3
    out, err = capsys.readouterr()
    listed = [line for line in out.splitlines() if not line.startswith("  ")]
    assert listed == [f"{photos.name}/a.jpg", f"{photos.name}/b.jpg"]  # sorted, each once, as glr expands them
    assert err.splitlines() == [
        f"note: {photos.name}/a.jpg was given twice: predicted once",
        "https://x.org/tower.jpg?w=800: is a web address, not a file on this computer; download the photo first",
        "*.png: no file matches this pattern",
        "missing.jpg: file not found"]
    assert _given_once(given[:2]) == listed  # glr's own reading of the same arguments
    capsys.readouterr()


def _run(script: Path, *args: str, cwd: Path):
    import subprocess

    return subprocess.run([sys.executable, "-I", str(script), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_predict_py_copied_out_of_its_folder_or_missing_a_file_says_which_file_and_what_to_do(tmp_path):
    """predict.py copied alone to the photos, an export copied without its model, a damaged labels.json or model:
    each was a traceback (FileNotFoundError, onnxruntime's NoSuchFile, JSONDecodeError, INVALID_PROTOBUF)."""
    import json
    import shutil

    template_script(tmp_path / "export", [{"index": 0, "landmark_id": 7, "name": "Tower"}])
    folder = tmp_path / "export"
    note = json.loads((folder / "preprocessing.json").read_text())
    (folder / "preprocessing.json").write_text(json.dumps({**note, "model": "model.onnx"}))
    photos = tmp_path / "photos"
    photos.mkdir()
    _photo().save(photos / "a.jpg")
    shutil.copy(folder / "predict.py", photos)
    keep = "keep predict.py in its export folder, beside the model, labels.json and preprocessing.json (unzip the whole export)"

    done = _run(photos / "predict.py", "a.jpg", cwd=photos)  # copied out of its folder
    assert (done.returncode, done.stderr.strip()) == (1, f"predict.py: preprocessing.json is not beside it in {photos}; {keep}")
    done = _run(folder / "predict.py", str(photos / "a.jpg"), cwd=photos)  # the export copied without its model
    assert (done.returncode, done.stderr.strip()) == (1, f"predict.py: model.onnx is not beside it in {folder}; {keep}")
    (folder / "model.onnx").write_bytes(b"not a model")  # cut or damaged in copying
    done = _run(folder / "predict.py", str(photos / "a.jpg"), cwd=photos)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("predict.py: the model or index beside it cannot be loaded (") and "export again" in done.stderr
    (folder / "labels.json").write_text("{")
    done = _run(folder / "predict.py", str(photos / "a.jpg"), cwd=photos)
    assert done.returncode == 1 and done.stderr.startswith(f"predict.py: {folder / 'labels.json'} cannot be read (Expecting")


def test_predict_py_says_a_link_in_a_folder_whose_photo_is_gone_as_glr_does(script, tmp_path, capsys):
    """glr's predict FOLDER lists such a link as skipped, saying where it led; predict.py passed it over in silence.
    A link to a photo elsewhere is predicted by both, and a linked folder is not walked by either."""
    from glr.submission import scan_folder

    photos, elsewhere = tmp_path / "photos", tmp_path / "elsewhere"
    photos.mkdir(), elsewhere.mkdir()
    _photo().save(photos / "a.jpg")
    _photo(seed=2).save(elsewhere / "b.jpg")
    (photos / "c.jpg").symlink_to(elsewhere / "b.jpg")
    (photos / "gone.jpg").symlink_to(tmp_path / "moved away.jpg")
    (photos / "linked").symlink_to(elsewhere, target_is_directory=True)
    assert script.main([str(photos)]) == 0
    out, err = capsys.readouterr()
    found, skipped = scan_folder(photos)
    assert [line for line in out.splitlines() if not line.startswith("  ")] == found == [str(photos / "a.jpg"),
                                                                                          str(photos / "c.jpg")]
    assert skipped == [(str(photos / "gone.jpg"), f"a link to {tmp_path / 'moved away.jpg'}, which is not there "
                                                  "(moved, deleted, or on a drive not mounted?)")]
    assert err.splitlines() == [f"  skipped {path}: {why}" for path, why in skipped]


def test_the_predict_pages_kept_copy_of_a_tiff_with_a_preview_first_is_the_photo(tmp_path):
    """The Predict page keeps a small copy of each upload (what another model, Grad-CAM and the preview use): for a
    TIFF that leads with a preview, it is made from the photo's page, as glr's decoder reads it."""
    import io

    from glr.data.images import decode_image
    from glr.data.kept_uploads import small_copy

    data = _tiff_with_a_preview_first(tmp_path / "scan.tif").read_bytes()
    copy = Image.open(io.BytesIO(small_copy("scan.tif", data, side=300)))
    assert copy.size == (400, 300)
    assert np.abs(np.asarray(copy, np.int16) - decode_image(data).astype(np.int16)).mean() < 3  # JPEG's loss only


def test_predict_py_given_its_export_folder_or_a_run_folder_says_so_once(script, tmp_path, capsys):
    """predict.py given its own export folder (or a run's) listed every file in it as "not an image type", one by
    one, then "no photos in this folder"; now one line saying what the folder is and what to give (photos put beside
    predict.py are still predicted). Inside a folder of photos each is listed once as skipped and nothing in it is
    read (a run's report charts are PNGs), as glr lists it."""
    import json

    from glr.submission import scan_folder

    export = Path(script.__file__).parent
    run = tmp_path / "results" / "run1"
    (run / "report").mkdir(parents=True)
    (run / "status.json").write_text(json.dumps({"state": "finished"}))
    (run / "config.json").write_text("{}")
    _photo().save(run / "report" / "confusion.png")  # a chart: no photo to predict
    for folder, what in ((export, "a glr export folder (a model, its labels and predict.py)"), (run, "a glr run folder")):
        assert script.main([str(folder)]) == 1
        out, err = capsys.readouterr()
        assert out == "" and err.splitlines() == [
            f"{folder}: {what}: its {'charts and ' if folder == run else ''}files are not photos to predict; give "
            "predict.py the photos, or a folder of them"]
    (export / "saved_model").mkdir()  # a SavedModel export's model is a folder
    (export / "saved_model" / "saved_model.pb").write_bytes(b"\0")
    (export / "notes.txt").write_text("mine")
    assert script.main([str(export)]) == 1  # the export's own files unsaid; the user's note listed, as in any folder
    assert capsys.readouterr().err.splitlines()[1:] == [
        f"{export}: a glr export folder (a model, its labels and predict.py): its files are not photos to predict; give "
        "predict.py the photos, or a folder of them"]
    _photo().save(export / "tried.jpg")  # a photo put beside predict.py to try it (row 142): predicted, the rest unsaid
    assert script.main([str(export)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == str(export / "tried.jpg") and err == \
        f"  skipped {export / 'notes.txt'}: .txt is not an image type ({', '.join(script.IMAGE_EXTENSIONS)})\n"
    (export / "tried.jpg").unlink()
    photos = tmp_path / "photos"
    photos.mkdir()
    _photo().save(photos / "a.jpg")
    import shutil

    shutil.copytree(export, photos / "export")  # the export unzipped among the photos: passed over whole, as glr does
    shutil.copytree(run, photos / "trip" / "run1")
    assert script.main([str(photos)]) == 0
    out, err = capsys.readouterr()
    assert [line for line in out.splitlines() if not line.startswith("  ")] == [str(photos / "a.jpg")]
    assert err.splitlines() == [f"  skipped {path}: {why}" for path, why in scan_folder(photos)[1]] == [
        f"  skipped {photos / 'export'}: a glr export folder (a model, its labels and predict.py): its files are not "
        "photos to predict",
        f"  skipped {photos / 'trip' / 'run1'}: a glr run folder: its charts and files are not photos to predict"]


def test_glr_folders_are_marked_by_the_names_glr_writes():
    """The files that mark a run and an export folder (glr.submission.GLR_FOLDERS) are the ones glr writes."""
    from glr import export
    from glr.submission import GLR_FOLDERS
    from glr.training.run import Run

    run = Run(Path("x"))
    assert set(GLR_FOLDERS) == {(run.status_path.name, run.config_path.name),
                                (export.EXAMPLE_NAME, export.NOTE_NAME, export.LABELS_NAME)}


def _cut_and_damaged_photos(folder: Path) -> list[Path]:
    """Each format glr decodes, cut short at a tenth, half and nine tenths (a download or copy stopped), and with 200
    bytes flipped in its middle."""
    import io

    made = []
    for fmt, ext in (("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif"), ("BMP", "bmp"), ("TIFF", "tif")):
        buffer = io.BytesIO()
        _photo(120, 90).save(buffer, fmt)
        raw = buffer.getvalue()
        for part in (0.1, 0.5, 0.9):
            made.append(folder / f"cut_{part}.{ext}")
            made[-1].write_bytes(raw[:int(len(raw) * part)])
        middle = len(raw) // 2
        made.append(folder / f"flipped.{ext}")
        made[-1].write_bytes(raw[:middle] + bytes(255 - b for b in raw[middle:middle + 200]) + raw[middle + 200:])
    return made


def test_predict_py_says_a_cut_or_damaged_photo_in_glrs_words(script, tmp_path, capsys):
    """A JPEG cut short was "not readable as a photo (OSError: image file is truncated (76 bytes not processed))" or
    "(OSError: Truncated File Read)", where glr says "image file is truncated (incomplete download or copy?)"; now each
    cut or damaged photo glr refuses gets glr's own line, and the ones glr decodes are predicted by both."""
    from test_robustness_predict_script import glr_says, predicted

    refused = 0
    (tmp_path / "empty.jpg").write_bytes(b"")  # a copy that failed: was "not readable as a photo (ValueError: ...)"
    for path in [tmp_path / "empty.jpg", *_cut_and_damaged_photos(tmp_path)]:
        try:
            said = glr_says(path)
        except BaseException:  # noqa: BLE001 - glr decodes it (200 flipped bytes of a WebP): so does predict.py
            assert script.main([str(path)]) == 0 and predicted(capsys.readouterr().out) == [str(path)]
            continue
        refused += 1
        assert script.main([str(path)]) == 1
        assert capsys.readouterr().err.strip() == said, path.name
    assert refused >= 19
    assert glr_says(tmp_path / "cut_0.5.jpg") == f"{tmp_path / 'cut_0.5.jpg'}: image file is truncated (incomplete " \
        "download or copy?)"


def test_predict_py_reads_a_png_holding_a_large_edit_history_as_glr_does(script, tmp_path, capsys):
    """A PNG whose XMP edit history is 2 MB (photo editors write them near 1 MB): glr raises Pillow's 1 MB limit on a
    text chunk and predicts it; predict.py kept Pillow's limit and said "not readable as a photo (ValueError:
    Decompressed data too large for PngImagePlugin.MAX_TEXT_CHUNK)". One over glr's own limit is said in glr's words."""
    from PIL import PngImagePlugin

    from glr.data.images import PNG_TEXT_CHUNK
    from glr.predict import eval_view
    from test_robustness_predict_script import glr_says, predicted

    for name, size in (("history.png", 2 << 20), ("bomb.png", PNG_TEXT_CHUNK + 1)):
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", "<x>" + "a" * size + "</x>", zip=True)
        _photo(60, 40).save(tmp_path / name, pnginfo=info)
    # In a Python of its own: glr, imported here, raises Pillow's limit for every module of this process.
    folder = Path(script.__file__).parent
    code = ("import importlib.util, sys, numpy\n"
            "spec = importlib.util.spec_from_file_location('p', 'predict.py'); m = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(m)\n"
            "m.load_model = lambda: (lambda x: (numpy.ones((len(x), 1), numpy.float32), None))\n"
            f"sys.exit(m.main([{str(tmp_path / 'history.png')!r}]))\n")
    import subprocess

    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120, cwd=folder)
    assert (done.returncode, done.stderr) == (0, "") and predicted(done.stdout) == [str(tmp_path / "history.png")]
    assert np.abs(script.eval_view(str(tmp_path / "history.png"))[0] - eval_view(tmp_path / "history.png", 32)).max() <= 1
    assert script.main([str(tmp_path / "bomb.png")]) == 1
    assert capsys.readouterr().err.strip() == glr_says(tmp_path / "bomb.png")


def test_predict_py_help_works_anywhere_copied_alone_and_without_its_runtime(tmp_path):
    """`predict.py --help` copied alone (or sent without the export) said "preprocessing.json is not beside it", and
    without its runtime "predict.py needs onnxruntime": the usage needs none of them."""
    import shutil

    template_script(tmp_path / "export", [{"index": 0, "landmark_id": 7, "name": "Tower"}])
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(tmp_path / "export" / "predict.py", alone)
    done = _run(alone / "predict.py", "--help", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "") and done.stdout.startswith("Top-5 landmarks of a photo")
    assert "--out FILE.csv" in done.stdout
    done = _run(alone / "predict.py", cwd=tmp_path)  # no photos: the usage, on stderr, exit 1
    assert (done.returncode, done.stdout) == (1, "") and done.stderr.startswith("Top-5 landmarks of a photo")
    hide = "sys.modules.update(dict.fromkeys(['onnxruntime', 'numpy', 'PIL']))"
    code = f"import runpy, sys; {hide}; sys.argv = ['predict.py', '-h']; runpy.run_path({str(alone / 'predict.py')!r}, " \
           "run_name='__main__')"
    import subprocess

    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "") and done.stdout.startswith("Top-5 landmarks of a photo")


def _tiny_onnx_export(folder: Path) -> Path:
    """A whole onnx export of two classes (its predict.py, note, labels and a real model.onnx of a few nodes that
    scores a photo by its mean level), so predict.py runs end to end in a Python of its own."""
    import json

    import onnx
    from onnx import TensorProto, helper

    template_script(folder, [{"index": 0, "landmark_id": 7, "name": "Tower"}, {"index": 1, "landmark_id": 8, "name": "Pont"}])
    note = json.loads((folder / "preprocessing.json").read_text())
    (folder / "preprocessing.json").write_text(json.dumps({**note, "model": "model.onnx"}))
    nodes = [helper.make_node("ReduceMean", ["x", "axes"], ["mean"], keepdims=1),
             helper.make_node("Reshape", ["mean", "shape"], ["column"]),
             helper.make_node("Mul", ["column", "w"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
    constants = [helper.make_tensor("axes", TensorProto.INT64, [3], [1, 2, 3]),
                 helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 1]),
                 helper.make_tensor("w", TensorProto.FLOAT, [1, 2], [0.01, -0.01])]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 32, 32, 3])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
                              initializer=constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, folder / "model.onnx")
    return folder / "predict.py"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need rights on Windows")
def test_predict_py_run_through_a_link_from_another_folder_in_an_isolated_python(tmp_path):
    """Already handled, now tested end to end: predict.py linked into ~/bin, run from another folder with python -I
    and -E, on a folder named with spaces and accents, its CSV to a file beside the photos and to a pipe: its files
    found beside the real script, the same rows either way."""
    import os
    import subprocess

    script = _tiny_onnx_export(tmp_path / "My exports" / "été 2026")
    (tmp_path / "bin").mkdir()
    os.symlink(script, tmp_path / "bin" / "landmarks")
    photos = tmp_path / "trip to Zürich"
    photos.mkdir()
    _photo(seed=1).save(photos / "a 1.jpg")
    _photo(seed=2).save(photos / "b.png")
    runs = []
    for flag, out in (("-I", str(photos / "résultats.csv")), ("-E", "-")):
        runs.append(subprocess.run([sys.executable, flag, str(tmp_path / "bin" / "landmarks"), "--out", out,
                                    "trip to Zürich"], capture_output=True, timeout=120, cwd=tmp_path))
        assert runs[-1].returncode == 0, runs[-1].stderr.decode()[-2000:]
    written = (photos / "résultats.csv").read_bytes()
    assert runs[1].stdout == written and written.startswith("\ufeffphoto,rank,".encode())
    assert written.decode("utf-8-sig").splitlines()[1].startswith("trip to Zürich/a 1.jpg,1,")
    assert runs[0].stdout.decode().startswith("trip to Zürich/a 1.jpg\n  1. Tower (landmark 7): 0.9")


def test_predict_py_top_k_and_its_csv_on_stdout_photo_by_photo(tmp_path):
    """`predict.py photos --top-k 1 --out - | head`: --top-k was "no such photo", and the CSV rows sat in stdout's
    8 KB buffer (some 50 photos' rows), so a pipe's reader saw none until the end. Now each photo's top-1 row reaches
    the pipe as the photo is listed: with stdout and stderr on one pipe, the rows come between the photos' listings."""
    import subprocess

    script = _tiny_onnx_export(tmp_path / "export")
    (tmp_path / "photos").mkdir()
    for i in range(2):
        _photo(40, 30, seed=i).save(tmp_path / "photos" / f"{i}.jpg")
    done = subprocess.run([sys.executable, "-I", str(script), "photos", "--top-k", "1", "--out", "-"], cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0, lines
    assert [line.split(",")[0].split(":")[0].strip() for line in lines] == [
        "photos/0.jpg", "1. Tower (landmark 7)", "\ufeffphoto", "photos/0.jpg",
        "photos/1.jpg", "1. Tower (landmark 7)", "photos/1.jpg", "wrote the predictions to standard output"]
    assert lines[3].startswith("photos/0.jpg,1,7,Tower,0.9")  # one rank of the two classes, as --top-k 1 asks
