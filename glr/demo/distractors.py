"""Photos that show no landmark, for calibrating and measuring the "not a known landmark" verdict.

Most photos a real user drops are not one of the landmarks a run knows; in the GLDv2 test
set only about 1-2% show one. We cannot ship real photos, so the distractor set is made of:
- the non-landmark sample images that ship inside installed packages: scikit-learn's
  `flower.jpg` and scikit-image's data images (an astronaut, a cat, coffee, coins, a
  rocket, the moon, textures...). scikit-learn's other sample, `china.jpg`, is left out:
  it shows the Summer Palace, a landmark;
- street scenes drawn by the demo generator with no landmark in them: the same sky,
  buildings, trees, people and cars as a demo photo, which makes them the hard case.

Generated scenes are written once under the cache folder and reused.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

# The set's folder, distractors/v<version>, named where `glr cache` reads it (and prunes other versions' sets).
from glr.cache_subdirs import DISTRACTORS_SUBDIR, DISTRACTORS_VERSION
from glr.paths import cache_dir

GENERATED = 60
SEED = 12345
# scikit-image's bundled photos and textures (the rest of its data folder is tables or stacks).
SKIMAGE_IMAGES = [
    "astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "clock_motion.png", "coffee.png",
    "coins.png", "color.png", "grass.png", "gravel.png", "horse.png", "hubble_deep_field.jpg", "ihc.png",
    "logo.png", "microaneurysms.png", "moon.png", "motorcycle_left.png", "page.png", "phantom.png",
    "retina.jpg", "rocket.jpg", "text.png",
]


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    return Path(spec.origin).parent if spec and spec.origin else None


def package_images() -> list[tuple[str, Path]]:
    """(name, path) of the non-landmark images found in installed packages."""
    found = []
    sklearn = _package_dir("sklearn")
    if sklearn and (sklearn / "datasets" / "images" / "flower.jpg").is_file():
        found.append(("sklearn:flower", sklearn / "datasets" / "images" / "flower.jpg"))
    skimage = _package_dir("skimage")
    for name in SKIMAGE_IMAGES if skimage else []:
        path = skimage / "data" / name
        if path.is_file():
            found.append((f"skimage:{Path(name).stem}", path))
    return found


def generate_scenes(folder: str | Path, n: int = GENERATED, seed: int = SEED, width: int = 256) -> list[Path]:
    """Write `n` demo-style street scenes without a landmark to `folder` (kept if already there).

    A `folder` that cannot be written (a read-only cache folder) has the rest written to a temporary
    stand-in for this process (glr.unwritable): an index is no reason to fail over photos made again.
    """
    from glr import unwritable
    from glr.atomic import StorageError, write_with
    from glr.demo.scenes import render_photo

    folder = Path(folder)
    paths = []
    for i in range(n):
        path = folder / f"scene-{seed}-{i:03d}.jpg"
        if not path.is_file() and (stand_in := unwritable.stand_in(folder)):
            path = stand_in / path.name
        if not path.is_file():
            image = render_photo(None, np.random.default_rng([seed, i]), width=width)
            try:
                write_with(path, lambda tmp: image.save(tmp, "JPEG", quality=90), suffix=".jpg")
            except StorageError as exc:
                if not unwritable.unwritable(exc) or unwritable.is_stand_in(path.parent):
                    raise
                path = unwritable.make_stand_in(folder, exc, "generated distractor photos") / path.name
                write_with(path, lambda tmp: image.save(tmp, "JPEG", quality=90), suffix=".jpg")
        paths.append(path)
    return paths


def distractor_set(folder: str | Path | None = None, generated: int = GENERATED) -> pd.DataFrame:
    """The distractor photos: columns name, source (a package or "generated"), path."""
    folder = Path(folder) if folder else cache_dir() / DISTRACTORS_SUBDIR / f"v{DISTRACTORS_VERSION}"
    rows = [{"name": name, "source": name.split(":")[0], "path": str(path)} for name, path in package_images()]
    rows += [{"name": f"generated:{p.stem}", "source": "generated", "path": str(p)}
             for p in generate_scenes(folder, generated)]
    return pd.DataFrame(rows, columns=["name", "source", "path"])
