"""The standalone predict.py written beside each export (glr.export): only its format's runtime, Pillow and numpy.

It decodes a photo as glr does, runs the exported model, and prints the top-5; with the run's
index beside it (glr.export_verdict) it also gives the "not a known landmark" verdict and the
nearest training photo, and ranks by the run's method, as glr's Predictor does.
"""

from __future__ import annotations

import functools
import textwrap

_LOADERS = {
    # predict_on_batch runs a compiled predict step; an eager model(x) took 0.45 s a photo (1,000 photos: 498 s).
    "keras": ("import keras", "model = keras.saving.load_model(HERE / \"model.keras\")\n"
              "    return lambda x: outputs(model.predict_on_batch(x))"),
    "savedmodel": ("import tensorflow as tf", "model = tf.saved_model.load(str(HERE / \"saved_model\"))\n"
                   "    return lambda x: outputs(model.serve(tf.constant(x)))"),
    "tflite": ("try:\n    from ai_edge_litert.interpreter import Interpreter\nexcept ImportError:  # TensorFlow's own\n"
               "    import tensorflow as tf\n\n    Interpreter = tf.lite.Interpreter",
               "interpreter = Interpreter(model_path=str(HERE / \"model.tflite\"))\n"
               "    runner = interpreter.get_signature_runner()  # outputs by name, whatever their order in the file\n"
               "    name = next(iter(runner.get_input_details()))\n"
               "    return lambda x: outputs(runner(**{name: x}))"),
    "onnx": ("import onnxruntime as ort", "session = ort.InferenceSession(str(HERE / \"model.onnx\"), "
             "providers=[\"CPUExecutionProvider\"])\n"
             "    name = session.get_inputs()[0].name\n"
             "    return lambda x: outputs(session.run(None, {name: x}))  # probabilities first, then the embedding"),
}

_EXAMPLE = '''"""Top-5 landmarks of a photo with the exported {fmt} model: python predict.py [--out FILE.csv] [--top-k N] PHOTO_OR_FOLDER [...]

Standalone: needs Python 3.9 or later, numpy, Pillow and {runtime}; not glr.
The input is described in preprocessing.json beside this file. With verdict.json and the
index beside it (an export of a run with an embedding index), each photo also gets the run's
"not a known landmark" verdict and its nearest training photo, as glr's Predictor gives them.
A folder stands for the photos in it and its sub-folders (by extension, a file without one by its
first bytes), and a zip for the photos inside it (read one at a time, nothing extracted), as with glr.
--out FILE.csv also writes the predictions as a CSV for a spreadsheet (one row per photo and rank;
a photo not predicted gets one row saying why); --out - writes the CSV to the standard output.
--top-k N lists the N most likely landmarks of each photo (default 5), as glr predict's --top-k.
"""

from __future__ import annotations  # the copied functions below keep their annotations unevaluated

import csv
import errno
import functools
import glob
import io
import json
import math
import os
import posixpath
import re
import stat
import struct
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path, PurePosixPath


{cli_head}

if __name__ == "__main__" and (code := usage_code(sys.argv[1:])) is not None:
    sys.exit(code)
if sys.version_info < (3, 9):  # glr's copied rules use str.removeprefix: said, not an AttributeError at the first photo
    sys.exit(f"predict.py needs Python 3.9 or later; this is Python {{sys.version.split()[0]}}")

try:
    import numpy as np
    from PIL import Image, ImageCms, PngImagePlugin, UnidentifiedImageError
except ImportError as exc:  # a bare environment: say what to install, not a traceback
    sys.exit(f"predict.py needs numpy and Pillow ({{exc}}): pip install numpy pillow")

try:  # HEIC photos, the iPhone default, need a plugin: pip install pi-heif
    from pi_heif import register_heif_opener
    register_heif_opener()
except ImportError:
    pass

try:
{imports}
except ImportError as exc:  # the format's runtime is missing: name it and how to install it
    sys.exit(f"predict.py needs {runtime} ({{exc}})")

# As glr: "Corrupt EXIF data" and the like; the pixels still decode, and the warning helps nobody.
warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
# The files beside this script are UTF-8 (glr writes them so): names in any script, read the same on Windows.
# As glr: a 200-megapixel phone photo is a photo, decoded at reduced size below; Pillow's default
# refuses anything over 179 MP as a decompression bomb.
MAX_PIXELS, MAX_JPEG_PIXELS, MAX_JPEG_SCANS = {max_pixels!r}, {max_jpeg_pixels!r}, {max_jpeg_scans!r}
Image.MAX_IMAGE_PIXELS = MAX_JPEG_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)  # as glr: Pillow only warns up to twice its limit
# As glr (glr.data.images): a PNG's text chunk may hold a photo editor's XMP history near 1 MB, Pillow's limit;
# a photo Pillow cannot decode is said in glr's words (glr.data.decode_words' refused, copied after ImageError).
PNG_TEXT_CHUNK, SHORT_TRNS = {png_text_chunk!r}, {short_trns!r}
PngImagePlugin.MAX_TEXT_CHUNK = PNG_TEXT_CHUNK
_UNSUPPORTED_WORDS, _PILLOW_FORMATS = {unsupported_words!r}, {pillow_formats!r}
DECODE_ERRORS = {decode_errors}  # as glr.data.decode_words: what Pillow raises for a file cut short or damaged
# As glr (glr.data.images, glr.data.layouts): a photo of one flat colour has nothing to recognise,
# and a folder's photos are found by extension, past the folders an OS or a NAS writes.
BLANK_RANGE, BLANK_MIN_SIDE, BLANK_MESSAGE = {blank_range}, {blank_min_side}, {blank_message!r}
IMAGE_EXTENSIONS, SYSTEM_FOLDERS = {image_extensions!r}, {system_folders!r}
UNLISTABLE = {unlistable!r}  # as glr.submission: a folder it cannot look in
GLR_FOLDERS, EXPORT_MARKS = {glr_folders!r}, {export_marks!r}  # as glr.submission: the files marking a folder glr made
WEB_ADDRESS = {web_address!r}  # as glr.data.sniff: a web address given where a photo goes
STDIN_NOT_READ = {stdin_not_read!r}  # as glr predict: `-` names no photo
# As glr: which picture of a file is the photo (a TIFF may lead with a small preview page); largest_page and
# seek_photo below are glr.data.images' own, copied.
TIFF_PAGES_LOOKED_AT = {tiff_pages}
# As glr (glr.data.sniff, glr.data.images): a file that is no photo is named for what it is (a PDF, an HTML page, a
# video...), and a PNG of more chunks before its picture than any photo has is refused before Pillow walks them (a
# million took it seconds). refuse_known_non_images and the functions after it are glr's own, copied.
{sniff_constants}
PNG_CHUNKS_MESSAGE = {png_chunks_message!r}
# As glr (glr.data.images, glr.data.orientation, glr.data.pixel_modes): the formats it decodes, and how a photo's
# pixels become the model's: turned as its EXIF says, any mode to 8-bit sRGB RGB. Their functions are glr's, copied.
ALLOWED_FORMATS, ORIENTATION = {allowed_formats!r}, {orientation_tag!r}
_SRGB, _PROFILE_MODES = ImageCms.createProfile("sRGB"), {profile_modes!r}
# As glr (glr.data.layouts, glr predict): the files an OS writes are passed over; the first few skipped are named.
SYSTEM_FILES, SKIPPED_LISTED = {system_files}, {skipped_listed!r}
# As glr (glr.predict): a photo whose nearest training photo is this similar is that photo, or a copy of it.
SAME_PHOTO, TRAINING_PHOTO_NOTE = {same_photo!r}, {training_photo_note!r}
NONE = {none!r}  # as glr.evaluation.readout: what a reader sees for a number that is not there
# As glr (glr.spreadsheet): --out's CSV is for people, a byte-order mark first (Excel then reads it as UTF-8) and a
# cell a spreadsheet would run as a formula escaped (escape_cell below is glr's own, copied).
BOM, TRIGGERS, QUOTE, CSV_NAME = {bom!r}, {triggers!r}, {quote!r}, {csv_name!r}
# The export's files beside this script: passed over among photos put in its folder, never written over by --out.
EXPORT_FILES = {export_files!r}

HERE = Path(__file__).resolve().parent
KEEP_TOGETHER = "keep predict.py in its export folder, beside the model, labels.json and preprocessing.json (unzip the whole export)"


{files_rule}


NOTE, LABELS = beside("preprocessing.json"), class_list(beside("labels.json"))
VERDICT = beside("verdict.json") if (HERE / "verdict.json").is_file() else None


def outputs(out):
    """(probabilities, embedding or None) from whatever the runtime returned: a dict, a list or one array."""
    if isinstance(out, dict):
        out = [out["probabilities"], out["embedding"]] if "embedding" in out else list(out.values())
    if isinstance(out, (list, tuple)):
        return np.asarray(out[0]), (np.asarray(out[1]) if len(out) > 1 else None)
    return np.asarray(out), None


def load_model():
    """The model as a function: a float32 batch (N, S, S, 3) of RGB 0..255 in, (probabilities, embedding) out."""
    {loader}


{page_rule}

{ftyp_rule}

class ImageError(ValueError):
    """A file refused as glr refuses it, its message naming the file and the problem, as glr's does."""


{sniff_rule}

{unsupported_rule}

{decode_rule}

{photo_functions}
{csv_functions}

{escape_rule}

def one_line(text):
    """A name on one line: a newline or tab in a class name would break the listing apart."""
    return " ".join(str(text).split())


{verdict_class}

def main(paths, out=None, top_k=5):
    """Print each photo's verdict (when exported) and top-k: rank, name, landmark id, confidence; count the unreadable.
    `out`: --out's file (or a stream: --out -) to hold them as a CSV too (PredictionsCsv), None for none."""
    for stream in (sys.stdout, sys.stderr):  # a console that is not UTF-8 (Windows' cp1252): a CJK name as \\u6771, not a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    photos, problems = photos_of(paths, own_outputs(out))
    for problem in problems:
        print(problem, file=sys.stderr)
    failed = len(problems)
    if not photos:  # as glr: said before the model is loaded, and no empty CSV written
        if out is not None:  # where one was asked for, said, so no older CSV of that name is taken for this one's
            print("predict.py: no photos to predict, so no CSV was written", file=sys.stderr)
        return failed
    # Before the model loads (seconds) and the photos are predicted (hours): a CSV that cannot be written is said now.
    table = None if out is None else PredictionsCsv(out, photos, VERDICT is not None, top_k)
    try:  # a run stopped before: the photos its partial file holds are not predicted again, its failures counted
        failed += predict_each([p for p in photos if table is None or not table.kept(p)], table, top_k)
        failed += table.failed_before if table is not None else 0
    except BaseException as exc:  # Ctrl-C, a crash, a full disk: the CSV as it was before, never half of one
        if table is not None:
            table.keep(isinstance(exc, KeyboardInterrupt))  # the rows so far kept, for the same command to go on
        raise
    if table is not None:
        print(f"wrote {{table.commit()}}", file=sys.stderr)
        if table.listing_gone:  # the CSV written, the BrokenPipeError goes on: cli() exits 141, as glr predict does
            raise BrokenPipeError(errno.EPIPE, "the listing's reader left")
    return failed


def load_all():
    """(the model, the verdict or None), or exit with a message naming the file that is missing or damaged."""
    try:
        return load_model(), (Verdict() if VERDICT else None)
    except Exception as exc:  # noqa: BLE001 - a file lost or damaged in copying: say which, not a runtime's traceback
        detail = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:300]
        missing = [name for name in (NOTE.get("model"), *(("index_vectors.npy", "index_items.csv") if VERDICT else ()))
                   if name and not (HERE / name).exists()]
        sys.exit(f"predict.py: {{' and '.join(missing)}} {{'is' if len(missing) == 1 else 'are'}} not beside it in {{HERE}}; "
                 f"{{KEEP_TOGETHER}}" if missing else
                 f"predict.py: the model or index beside it cannot be loaded ({{detail}}); unzip the export again, "
                 "or export the run again")


def refusal(path, exc):
    """Why `path` is not predicted, as glr says it (the message names the file)."""
    if isinstance(exc, (Blank, MissingDecoder)):  # as glr's Predictor: no landmark for nothing; what to install
        return f"{{path}}: {{exc}}"
    if isinstance(exc, ImageError):  # glr's own message, which names the file
        return str(exc)
    if isinstance(exc, FileNotFoundError):  # as glr: said plainly, not as an errno
        return f"{{path}}: file not found"
    return f"{{path}}: not readable as a photo ({{exc.__class__.__name__}}: {{exc}})"  # a bomb: say so and go on


def say(table, lines):
    """A photo's lines of the listing on stdout, at once. When its reader leaves (`predict.py photos --out x.csv | head`),
    the CSV is finished all the same and the rest of the listing dropped (a BrokenPipeError threw away an hour's CSV)."""
    if table is not None and table.listing_gone:
        return
    try:
        # As glr predict flushes each batch: through a pipe (`| tee log`) the lines came 30 photos at a time, and a
        # reader gone (`| head -2`) was noticed only when a buffer filled, 65 photos later.
        print("\\n".join(lines), flush=True)
    except BrokenPipeError:
        if table is None or table.partial is None:  # no CSV file to finish (--out -: the CSV is the stdout that left)
            raise
        table.listing_gone = True


def sent(table):
    """A photo's CSV rows on the standard output (--out -) sent on at once, as the listing is: they waited in stdout's
    8 KB buffer (some 50 photos' rows), so `predict.py photos --out - | head` or a `tail -f` of its file saw none of a
    small folder's until the end, and a reader gone was noticed only then. A CSV file's rows are in its partial file."""
    if table.partial is None:
        (table.file or table.text).flush()


def predict_each(photos, table, top_k=5):
    """Predict `photos` one at a time (10,000 photos take no more memory than one), printing each (its `top_k` most
    likely landmarks) and writing it to `table` (or None); the number that could not be predicted."""
    model, verdict = load_all()
    failed = 0
    for path in photos:
        try:
            view = eval_view(path)
        except Exception as exc:  # noqa: BLE001 - not an image, truncated, a bomb: said as glr says it, and on
            print(problem := refusal(path, exc), file=sys.stderr)
            failed += 1
            if table is not None:
                table.refused(path, problem)
                sent(table)
            continue
        probs, embedding = model(view)
        check_classes(probs)
        scores, line, seen = probs[0], "", None
        if verdict is not None and embedding is not None:
            scores, known, unknown, nearest, near = verdict(probs[0], embedding[0])
            seen = (known, unknown, nearest, near)
            # As glr predict (glr.evaluation.readout, copied): the decimals that tell the score from the threshold
            # ("0.312 < 0.312" read as equal), and a similarity never rounded onto 1 ("1.000" for a photo at 0.9996).
            score, threshold = apart(known, VERDICT["threshold"])
            line = f"  NOT A KNOWN LANDMARK (known score {{score}} < {{threshold}})" if unknown else f"  (known score {{score}})"
            line += f"; nearest training photo {{nearest['id']}} (landmark {{nearest['landmark_id']}}, similarity {{similarity(near)}})"
        lines = [path + line]
        if seen is not None and near >= SAME_PHOTO:  # as glr predict notes it
            name = next((label["name"] for label in LABELS if str(label["landmark_id"]) == str(nearest["landmark_id"])), "")
            photo = f"training photo {{nearest['id']}}, {{one_line(name) or 'landmark ' + nearest['landmark_id']}}"
            lines.append(f"  note: {{TRAINING_PHOTO_NOTE.format(photo=photo, similarity=similarity(near))}}")
        top = [(LABELS[int(i)], float(scores[i])) for i in np.argsort(-scores, kind="stable")[:top_k]]
        for rank, (label, score) in enumerate(top, 1):
            # Never rounded onto 0 or 1 either (readout's rule): "1.000" said a model sure of a class it gave 0.9996.
            lines.append(f"  {{rank}}. {{one_line(label['name'])}} (landmark {{label['landmark_id']}}): {{similarity(score)}}")
        say(table, lines)
        if table is not None:
            table.predicted(path, top, seen)
            sent(table)
    return failed


{cli_tail}

if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
'''


@functools.lru_cache(maxsize=None)
def example_script(fmt: str, runtime: str) -> str:
    """The text of predict.py for format `fmt` whose runtime is described by `runtime`."""
    # Cached: 40 ms of inspect.getsource each time, and export_ready digests it per format on every Results page.
    import inspect

    from glr.data import decode_words, images, layouts, orientation, pixel_modes, sniff
    from glr.data.images import BLANK_MESSAGE, BLANK_MIN_SIDE, BLANK_RANGE, TIFF_PAGES_LOOKED_AT, largest_page, seek_photo
    from glr.data.layouts import IMAGE_EXTENSIONS, SYSTEM_FOLDERS
    from glr.data.sniff import WEB_ADDRESS, _ftyp_brands
    from glr.evaluation import readout
    from glr.export_photos import source as photo_source, without_glr_imports
    from glr.export_cli import HEAD as cli_head, TAIL as cli_tail
    from glr.export_csv import CSV_NAME, source as csv_source
    from glr.export_files import source as files_source
    from glr.export_verdict import SOURCE as verdict_class
    from glr.spreadsheet import BOM, QUOTE, TRIGGERS, escape_cell
    from glr.paths import leads_in_a_circle, printable, shown
    from glr.predict import SAME_PHOTO, TRAINING_PHOTO_NOTE
    from glr.predict_command import SKIPPED_LISTED, STDIN_NOT_READ, _say_skipped
    from glr.submission import EXPORT_MARKS, GLR_FOLDERS, UNLISTABLE, glr_folder, special_file

    imports, loader = _LOADERS[fmt]
    return _EXAMPLE.format(fmt=fmt, runtime=runtime, imports=textwrap.indent(imports, "    "), loader=loader,
                           blank_range=BLANK_RANGE, blank_min_side=BLANK_MIN_SIDE, blank_message=BLANK_MESSAGE,
                           image_extensions=IMAGE_EXTENSIONS, system_folders=sorted(SYSTEM_FOLDERS), web_address=WEB_ADDRESS,
                           stdin_not_read=STDIN_NOT_READ, unlistable=UNLISTABLE, glr_folders=GLR_FOLDERS,
                           export_marks=EXPORT_MARKS,
                           tiff_pages=TIFF_PAGES_LOOKED_AT,
                           ftyp_rule="\n\n".join(map(inspect.getsource, (_ftyp_brands, leads_in_a_circle, special_file, glr_folder))),
                           page_rule=inspect.getsource(largest_page) + "\n\n" + inspect.getsource(seek_photo),
                           sniff_constants="\n".join(f"{name} = {_literal(getattr(sniff, name))}" for name in _SNIFF_CONSTANTS)
                           + f"\nMAX_PNG_CHUNKS = {decode_words.MAX_PNG_CHUNKS!r}",
                           sniff_rule="\n\n".join(inspect.getsource(f) for f in (
                               sniff.refuse_known_non_images, sniff._text_start, sniff.looks_like, decode_words._png_chunks)),
                           png_chunks_message=PNG_CHUNKS_MESSAGE.format(decode_words.MAX_PNG_CHUNKS),
                           same_photo=SAME_PHOTO, training_photo_note=TRAINING_PHOTO_NOTE, none=readout.NONE,
                           allowed_formats=images.ALLOWED_FORMATS, orientation_tag=orientation.ORIENTATION,
                           profile_modes=pixel_modes._PROFILE_MODES, system_files=_literal(layouts.SYSTEM_FILES),
                           skipped_listed=SKIPPED_LISTED,
                           decode_rule="\n\n".join(without_glr_imports(inspect.getsource(f)) for f in (
                               images._open_formats, decode_words._png_without, decode_words.mended_png,
                               decode_words._exif_after_pixels, decode_words._short_chunks, images.with_colour_code,
                               images.colour_code, orientation.orientation, orientation.upright,
                               pixel_modes.srgb_transform, pixel_modes.to_rgb, pixel_modes.plain_rgb, pixel_modes._keyed_grey_or_palette,
                               pixel_modes._onto_white_by_band, pixel_modes.grey_levels,
                               pixel_modes.colour_key_alpha, layouts.is_system_file, layouts.is_system_name, layouts.is_system_folder,
                               _say_skipped)),
                           photo_functions=photo_source(), files_rule=files_source(), csv_functions=csv_source(),
                           escape_rule="\n\n".join(map(inspect.getsource, (escape_cell, printable, shown, readout.number,
                                                                             readout.decimal, readout.similarity, readout.apart))),
                           bom=BOM, triggers=TRIGGERS, quote=QUOTE, export_files=_export_files(),
                           max_pixels=images.MAX_PIXELS, max_jpeg_pixels=images.MAX_JPEG_PIXELS,
                           max_jpeg_scans=images.MAX_JPEG_SCANS,
                           csv_name=CSV_NAME, verdict_class=verdict_class, cli_head=cli_head, cli_tail=cli_tail, png_text_chunk=decode_words.PNG_TEXT_CHUNK,
                           short_trns=decode_words.SHORT_TRNS,
                           unsupported_words=decode_words._UNSUPPORTED_WORDS, decode_errors=_classes(decode_words.DECODE_ERRORS), pillow_formats=decode_words._PILLOW_FORMATS,
                           unsupported_rule="\n\n".join(inspect.getsource(f) for f in (
                               decode_words.refused, decode_words.decoder_missing, decode_words._other_format, decode_words._is_unsupported,
                               decode_words._unsupported, decode_words._plugin_reason, decode_words.refuse_large_icon,
                               decode_words._icon_pixels, decode_words._palette_trns_too_long, decode_words.refuse_costly,
                               sniff.jpeg_scans)))


# What glr.data.sniff's refuse_known_non_images and looks_like read, copied into predict.py with them.
_SNIFF_CONSTANTS = ("SUPPORTED_TEXT", "_KNOWN_NON_IMAGES", "_IMAGE_MAGIC", "_OTHER_IMAGE_FORMATS", "_HEIF_BRANDS",
                    "_RAW_BRANDS", "_VIDEO_BRANDS", "_PLACEHOLDERS")
# glr.data.images' words for a PNG of too many chunks (its decoder's message, after the file's name).
PNG_CHUNKS_MESSAGE = "a PNG of over {:,} chunks before its picture (photos have a few dozen); possibly a decompression bomb"


def _literal(value) -> str:
    """A constant as Python source; a set sorted, as its own repr follows string hashing (the script would differ each run)."""
    return "{" + ", ".join(map(repr, sorted(value))) + "}" if isinstance(value, (set, frozenset)) else repr(value)


def _classes(classes: tuple) -> str:
    """A tuple of exception classes as Python source: a builtin by its name, any other by its module's (struct.error)."""
    names = [c.__name__ if c.__module__ == "builtins" else f"{c.__module__}.{c.__qualname__}" for c in classes]
    return "(" + ", ".join(names) + ")"


def _export_files() -> tuple:
    """The names of the files (and a SavedModel's folder) an export may hold beside predict.py."""
    from glr import export
    from glr.export_verdict import ITEMS_NAME, VECTORS_NAME, VERDICT_NAME

    return (export.EXAMPLE_NAME, export.NOTE_NAME, export.LABELS_NAME, VERDICT_NAME, VECTORS_NAME, ITEMS_NAME,
            *export.MODEL_NAMES.values())
