"""The standalone predict.py written beside each export (glr.export): only its format's runtime, Pillow and numpy.

It decodes a photo as glr does, runs the exported model, and prints the top-5; with the run's
index beside it (glr.export_verdict) it also gives the "not a known landmark" verdict and the
nearest training photo, and ranks by the run's method, as glr's Predictor does.
"""

from __future__ import annotations

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

_EXAMPLE = '''"""Top-5 landmarks of a photo with the exported {fmt} model: python predict.py PHOTO_OR_FOLDER [...]

Standalone: needs numpy, Pillow and {runtime}; not glr.
The input is described in preprocessing.json beside this file. With verdict.json and the
index beside it (an export of a run with an embedding index), each photo also gets the run's
"not a known landmark" verdict and its nearest training photo, as glr's Predictor gives them.
A folder stands for the photos in it and its sub-folders (by extension), as with glr.
"""

from __future__ import annotations  # the copied functions below keep their annotations unevaluated

import csv
import errno
import functools
import glob
import io
import json
import os
import re
import stat
import struct
import sys
import warnings
from pathlib import Path

try:
    import numpy as np
    from PIL import Image, ImageCms, UnidentifiedImageError
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
Image.MAX_IMAGE_PIXELS = 400_000_000
# As glr (glr.data.images, glr.data.layouts): a photo of one flat colour has nothing to recognise,
# and a folder's photos are found by extension, past the folders an OS or a NAS writes.
BLANK_RANGE, BLANK_MIN_SIDE, BLANK_MESSAGE = {blank_range}, {blank_min_side}, {blank_message!r}
IMAGE_EXTENSIONS, SYSTEM_FOLDERS = {image_extensions!r}, {system_folders!r}
UNLISTABLE = {unlistable!r}  # as glr.submission: a folder it cannot look in
WEB_ADDRESS = {web_address!r}  # as glr.data.sniff: a web address given where a photo goes
STDIN_NOT_READ = {stdin_not_read!r}  # as glr predict: `-` names no photo
# As glr: which picture of a file is the photo (a TIFF may lead with a small preview page); largest_page and
# seek_photo below are glr.data.images' own, copied.
TIFF_PAGES_LOOKED_AT = {tiff_pages}
# As glr (glr.data.sniff): an iPhone's HEIC or an AVIF is known by its ftyp box, so a missing decoder is named.
HEIF_BRANDS, AVIF_BRANDS = {heif_brands}, {avif_brands}
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

HERE = Path(__file__).resolve().parent
KEEP_TOGETHER = "keep predict.py in its export folder, beside the model, labels.json and preprocessing.json (unzip the whole export)"


def beside(name):
    """A JSON file of the export beside this script; a message, not a traceback, when it is missing or damaged."""
    try:
        return json.loads((HERE / name).read_text(encoding="utf-8"))
    except FileNotFoundError:  # predict.py copied out of its folder, or a file left out of the copy
        sys.exit(f"predict.py: {{name}} is not beside it in {{HERE}}; {{KEEP_TOGETHER}}")
    except (OSError, ValueError) as exc:
        sys.exit(f"predict.py: {{HERE / name}} cannot be read ({{exc}}); unzip the export again, or export the run again")


NOTE, LABELS = beside("preprocessing.json"), beside("labels.json")
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

{decode_rule}

{photo_functions}

def one_line(text):
    """A name on one line: a newline or tab in a class name would break the listing apart."""
    return " ".join(str(text).split())


class Verdict:
    """The run's index and unknown threshold: class scores by its method, the known score, the nearest photo."""

    def __init__(self):
        self.vectors = np.load(HERE / "index_vectors.npy").astype(np.float32)
        with open(HERE / "index_items.csv", newline="", encoding="utf-8") as f:
            self.items = list(csv.DictReader(f))
        index_of = {{int(label["landmark_id"]): int(label["index"]) for label in LABELS}}
        self.classes = np.array([index_of[int(item["landmark_id"])] for item in self.items], np.int64)

    def __call__(self, probs, embedding):
        """(class scores, known score, unknown?, the nearest training photo's row and similarity)."""
        query = embedding / max(float(np.linalg.norm(embedding)), 1e-12)
        sims = self.vectors @ query.astype(np.float32)
        k = min(VERDICT["knn_k"], len(sims))
        order = np.lexsort((np.arange(len(sims)), -sims))[:k]  # best first; ties keep the lower row
        near, near_classes = sims[order], self.classes[order]
        votes = np.zeros(len(probs), np.float32)
        np.add.at(votes, near_classes, np.clip(near, 0, None))
        votes /= k
        weight = VERDICT["blend_weight"]
        scores = {{"head": probs, "knn": votes, "blend": weight * probs + (1 - weight) * votes}}[VERDICT["method"]]
        w = VERDICT["known_head_weight"]
        known = w * probs.max() + (1 - w) * near[0]
        if VERDICT["known_score"] == "head+top+margin":  # the gap to the nearest photo of another class
            other = near_classes != near_classes[0]
            margin = max(near[0] - (near[np.argmax(other)] if other.any() else near[-1]), 0.0)
            known = (2 * known + margin) / 3
        return scores, float(known), known < VERDICT["threshold"], self.items[order[0]], float(near[0])


def main(paths):
    """Print each photo's verdict (when exported) and top-5: rank, name, landmark id, confidence; count the unreadable."""
    for stream in (sys.stdout, sys.stderr):  # a console that is not UTF-8 (Windows' cp1252): a CJK name as \\u6771, not a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        model = load_model()
        verdict = Verdict() if VERDICT else None
    except Exception as exc:  # noqa: BLE001 - a file lost or damaged in copying: say which, not a runtime's traceback
        detail = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:300]
        missing = [name for name in (NOTE.get("model"), *(("index_vectors.npy", "index_items.csv") if VERDICT else ()))
                   if name and not (HERE / name).exists()]
        sys.exit(f"predict.py: {{' and '.join(missing)}} {{'is' if len(missing) == 1 else 'are'}} not beside it in {{HERE}}; "
                 f"{{KEEP_TOGETHER}}" if missing else
                 f"predict.py: the model or index beside it cannot be loaded ({{detail}}); unzip the export again, "
                 "or export the run again")
    photos, problems = photos_of(paths)
    for problem in problems:
        print(problem, file=sys.stderr)
    failed = len(problems)
    for path in photos:
        try:
            view = eval_view(path)
        except (Blank, MissingDecoder) as exc:  # as glr's Predictor: no landmark for nothing; what to install
            print(f"{{path}}: {{exc}}", file=sys.stderr)
            failed += 1
            continue
        except ImageError as exc:  # glr's own message, which names the file
            print(exc, file=sys.stderr)
            failed += 1
            continue
        except FileNotFoundError:  # as glr: said plainly, not as an errno
            print(f"{{path}}: file not found", file=sys.stderr)
            failed += 1
            continue
        except Exception as exc:  # noqa: BLE001 - not an image, truncated, a bomb: say so and go on
            print(f"{{path}}: not readable as a photo ({{exc.__class__.__name__}}: {{exc}})", file=sys.stderr)
            failed += 1
            continue
        probs, embedding = model(view)
        scores, line = probs[0], ""
        if verdict is not None and embedding is not None:
            scores, known, unknown, nearest, similarity = verdict(probs[0], embedding[0])
            line = (f"  NOT A KNOWN LANDMARK (known score {{known:.3f}} < {{VERDICT['threshold']:.3f}})" if unknown
                    else f"  (known score {{known:.3f}})")
            line += f"; nearest training photo {{nearest['id']}} (landmark {{nearest['landmark_id']}}, similarity {{similarity:.3f}})"
        print(path + line)
        if verdict is not None and embedding is not None and similarity >= SAME_PHOTO:  # as glr predict notes it
            name = next((label["name"] for label in LABELS if str(label["landmark_id"]) == str(nearest["landmark_id"])), "")
            photo = f"training photo {{nearest['id']}}, {{one_line(name) or 'landmark ' + nearest['landmark_id']}}"
            print(f"  note: {{TRAINING_PHOTO_NOTE.format(photo=photo, similarity=similarity)}}")
        for rank, i in enumerate(np.argsort(-scores, kind="stable")[:5], 1):
            label = LABELS[int(i)]
            print(f"  {{rank}}. {{one_line(label['name'])}} (landmark {{label['landmark_id']}}): {{scores[i]:.3f}}")
    return failed


def asked_for(argv):
    """The photos and folders in `argv`, a leading "--" dropped (as a shell user writes it before "-beach.jpg"); None
    for -h or --help (unless a file is named so), which were "file not found"."""
    if any(arg in ("-h", "--help") and not os.path.lexists(arg) for arg in argv):
        return None
    return argv[1:] if argv[:1] == ["--"] else argv


def cli(argv):
    """The exit code of `python predict.py ARGS`, as glr's: 0 all predicted, 1 some not, 130 Ctrl-C, 141 the reader of
    the output went away (`predict.py photos | head`), 1 with a word when the output cannot be written (a full disk);
    those were a traceback."""
    given = asked_for(argv)
    if not given:
        print(__doc__, file=sys.stdout if given is None else sys.stderr)
        return 0 if given is None else 1
    try:
        return 1 if main(given) else 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        drop_stdout()
        return 141
    except OSError as exc:  # `> /dev/full`, a full disk: said once, as glr says it, not a traceback
        if exc.filename is not None or exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
            raise
        drop_stdout()
        print(f"predict.py: the output cannot be written: {{exc.strerror}}", file=sys.stderr)
        return 1


def drop_stdout():
    """What is left of stdout sent to the null device (Python's advice for a closed pipe), so the flush at exit cannot
    fail again; a stdout with no file is left."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
'''


def example_script(fmt: str, runtime: str) -> str:
    """The text of predict.py for format `fmt` whose runtime is described by `runtime`."""
    import inspect

    from glr.data import images, layouts, orientation, pixel_modes, sniff
    from glr.data.images import BLANK_MESSAGE, BLANK_MIN_SIDE, BLANK_RANGE, TIFF_PAGES_LOOKED_AT, largest_page, seek_photo
    from glr.data.layouts import IMAGE_EXTENSIONS, SYSTEM_FOLDERS
    from glr.data.sniff import _HEIF_BRANDS, WEB_ADDRESS, _ftyp_brands
    from glr.export_photos import SOURCE as photo_functions
    from glr.paths import leads_in_a_circle
    from glr.predict import SAME_PHOTO, TRAINING_PHOTO_NOTE
    from glr.predict_command import SKIPPED_LISTED, STDIN_NOT_READ, _say_skipped
    from glr.submission import UNLISTABLE, special_file

    imports, loader = _LOADERS[fmt]
    return _EXAMPLE.format(fmt=fmt, runtime=runtime, imports=textwrap.indent(imports, "    "), loader=loader,
                           blank_range=BLANK_RANGE, blank_min_side=BLANK_MIN_SIDE, blank_message=BLANK_MESSAGE,
                           image_extensions=IMAGE_EXTENSIONS, system_folders=sorted(SYSTEM_FOLDERS), web_address=WEB_ADDRESS,
                           stdin_not_read=STDIN_NOT_READ, unlistable=UNLISTABLE,
                           tiff_pages=TIFF_PAGES_LOOKED_AT,
                           heif_brands=_literal(_HEIF_BRANDS),
                           avif_brands=_literal({b"avif", b"avis"} & _HEIF_BRANDS),
                           ftyp_rule="\n\n".join(map(inspect.getsource, (_ftyp_brands, leads_in_a_circle, special_file))),
                           page_rule=inspect.getsource(largest_page) + "\n\n" + inspect.getsource(seek_photo),
                           sniff_constants="\n".join(f"{name} = {_literal(getattr(sniff, name))}" for name in _SNIFF_CONSTANTS)
                           + f"\nMAX_PNG_CHUNKS = {images.MAX_PNG_CHUNKS!r}",
                           sniff_rule="\n\n".join(inspect.getsource(f) for f in (
                               sniff.refuse_known_non_images, sniff._text_start, sniff.looks_like, images._png_chunks)),
                           png_chunks_message=PNG_CHUNKS_MESSAGE.format(images.MAX_PNG_CHUNKS),
                           same_photo=SAME_PHOTO, training_photo_note=TRAINING_PHOTO_NOTE,
                           allowed_formats=images.ALLOWED_FORMATS, orientation_tag=orientation.ORIENTATION,
                           profile_modes=pixel_modes._PROFILE_MODES, system_files=_literal(layouts.SYSTEM_FILES),
                           skipped_listed=SKIPPED_LISTED,
                           decode_rule="\n\n".join(inspect.getsource(f) for f in (
                               images._open_formats, images._png_without, orientation.orientation, orientation.upright,
                               pixel_modes.srgb_transform, pixel_modes.to_rgb, pixel_modes.plain_rgb,
                               pixel_modes.colour_key_alpha, layouts.is_system_file, layouts.is_system_folder,
                               _say_skipped)),
                           photo_functions=photo_functions)


# What glr.data.sniff's refuse_known_non_images and looks_like read, copied into predict.py with them.
_SNIFF_CONSTANTS = ("SUPPORTED_TEXT", "_KNOWN_NON_IMAGES", "_IMAGE_MAGIC", "_OTHER_IMAGE_FORMATS", "_HEIF_BRANDS",
                    "_RAW_BRANDS", "_VIDEO_BRANDS", "_PLACEHOLDERS")
# glr.data.images' words for a PNG of too many chunks (its decoder's message, after the file's name).
PNG_CHUNKS_MESSAGE = "a PNG of over {:,} chunks before its picture (photos have a few dozen); possibly a decompression bomb"


def _literal(value) -> str:
    """A constant as Python source; a set sorted, as its own repr follows string hashing (the script would differ each run)."""
    return "{" + ", ".join(map(repr, sorted(value))) + "}" if isinstance(value, (set, frozenset)) else repr(value)
