"""What the Predict page keeps of an upload once it is predicted, so its original bytes can leave the server's memory.

Streamlit holds every dropped file's bytes until the session ends: 300 phone photos of 5 MB are 1.5 GB
per browser tab, and each rerun read, expanded (a zip), hashed and looked up every one again. So each
upload is read once, when it arrives: its photos (a zip's members) are predicted from the original
bytes, and what the page shows later is kept per photo:

- its prediction per model, made at the sliders' largest top-k and number of similar photos, so a
  slider change is a slice of it (`shown`): top-k is a prefix of a longer top-k (a stable sort), and
  the exact index's nearest photos a prefix of more of them (ties keep the lower index);
- a copy of the photo, upright, in sRGB and with its shorter side at most KEEP_SIDE px (a JPEG): what
  the preview (320 px), Grad-CAM (its overlay is 384 px at most, its view the model's input, at most
  `load_size` of it) and the matched points (local features at 480 px, drawn at 640) are made from.

A model chosen later predicts from that copy: the original is gone, and a copy is resized again on
the way to the model, so its scores may differ a little from the original's (8 synthetic 12 MP photos,
the tests' tiny model: the same best guess for each, probabilities within 0.01). Nothing here imports streamlit.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass, field

from glr.data import uploads
from glr.errors import ImageError

KEEP_SIDE = 720  # the copy's shorter side: a 12 MP JPEG decodes at 1/4 scale for it (768 needed 1/2: 1.6x slower)
KEEP_LONG_SIDE = 8192  # and its longer side
KEEP_QUALITY = 92  # JPEG quality of the copy: it is shown, explained and predicted again, so not a thumbnail's 85
# Photos predicted from one upload box: as many as a zip may hold. Past it the command line is the tool, and
# the files past it are released unread (a box of 5,000 phone photos held 25 GB until the session ended).
MAX_PHOTOS = uploads.ZIP_MAX_FILES
OVER_LIMIT = ("{count} not predicted (e.g. {name}): at most {limit:,} photos are predicted at once here; for big "
              "batches use the command line: python -m glr predict RUN FOLDER")
MAX_K = 10  # the sliders' largest top-k ...
MAX_SIMILAR = 12  # ... and number of similar photos (pages/4_predict.py): a prediction made with these is sliced


@dataclass
class KeptPhoto:
    """One photo of an upload (a zip gives many): its name, the digest of its original bytes, its copy, predictions."""

    name: str
    digest: str
    size: int  # bytes of the original: an empty file is no photo, and is never "the same photo" as another
    copy: bytes | None  # None: it cannot be decoded (its prediction says why, for every model)
    predictions: dict = field(default_factory=dict)  # a model's key -> its Prediction, at MAX_K and MAX_SIMILAR


@dataclass
class KeptUpload:
    """One file dropped in the upload box (a photo, or a zip of photos): its photos and the problems found."""

    name: str
    photos: list[KeptPhoto]
    problems: list[str]
    is_zip: bool
    skipped: bool = False  # not read: the box held MAX_PHOTOS photos already (said once for all such files)


def small_copy(name: str, data: bytes, side: int = KEEP_SIDE) -> bytes | None:
    """A JPEG of the photo upright and in sRGB with its shorter side at most `side` px; None if it cannot be decoded."""
    from PIL import Image

    from glr.data.images import decode_image

    def shrink(image: Image.Image) -> Image.Image:
        # The longer side too: a 70000 x 1 PNG is no JPEG (65,535 px at most), and a panorama is squeezed into the
        # model's square anyway.
        scale = min(side / min(image.size), KEEP_LONG_SIDE / max(image.size))
        if scale >= 1:
            return image
        return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                            Image.Resampling.LANCZOS)

    try:
        # draft: a JPEG is decoded at the smallest scale still at least `side` px on both sides; shrunk before its
        # colours are converted to sRGB (a Display P3 photo's kept pixels only, not its 12 million).
        image = Image.fromarray(decode_image(uploads.named_upload(name, data), draft_size=side, shrink=shrink))
    except ImageError:
        return None
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=KEEP_QUALITY)
    return buffer.getvalue()


def kept_photo(name: str, data: bytes, digest: str | None = None) -> KeptPhoto:
    """What is kept of one photo once its original bytes go (no prediction yet)."""
    return KeptPhoto(name=name, digest=digest or uploads.content_digest(data), size=len(data),
                     copy=small_copy(name, data) if data else None)


def shown(prediction, k: int, similar: int):
    """A prediction made at MAX_K and MAX_SIMILAR as it is with top-`k` and `similar` similar photos."""
    return dataclasses.replace(prediction, top=prediction.top[:k], similar=prediction.similar[:similar])


def unique(items: list, digest_of, size_of) -> tuple[list, list[tuple[str, str]]]:
    """The items without repeats of the same content (by `digest_of`), each under its first name (`item[0]`); and
    (repeat, first name) pairs. An empty file keeps its own "empty file" message (as uploads.unique_photos)."""
    seen: dict[str, str] = {}
    kept, repeats = [], []
    for item in items:
        digest = digest_of(item)
        if size_of(item) and digest in seen:
            repeats.append((item[0], seen[digest]))
            continue
        seen[digest] = item[0]
        kept.append(item)
    return kept, repeats
