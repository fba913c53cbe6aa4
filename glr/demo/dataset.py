"""An embedded demo dataset: synthetic landmark photos in the Google Landmarks v2 layout.

The study this toolkit reproduces trains on a 100-class subset of GLDv2 (about 2,000
photos, long-tailed). That data cannot ship with the code, so this module *draws* a
stand-in with the same shape and the same on-disk layout as the Kaggle release:

    <out>/train.csv                    id,landmark_id
    <out>/train_label_to_category.csv  landmark_id,category (a Wikimedia category URL)
    <out>/train/<a>/<b>/<c>/<id>.jpg   a, b, c = the first three hex digits of the id

Every landmark is a procedurally drawn structure (a tower, a dome, a pagoda...) with
its own proportions, colours and ornaments. Every photo of it changes what a real photo
changes: viewpoint, distance, crop, sky, light, weather, things in front of it, camera
noise. The aim is a dataset that behaves like the real one for the methods under study:
a linear probe on raw pixels does poorly (the landmark moves, shrinks and changes
colour cast from photo to photo), while features from an ImageNet backbone, which
see shapes and patterns wherever they are, separate the classes well.

The drawing lives elsewhere: `glr.demo.landmarks` draws the structures (with
`glr.demo.sketch`'s vocabulary and the family drawers of `glr.demo.buildings` and
`glr.demo.monuments`) and `glr.demo.scenes` composes a photo around one. This module holds
the class catalogue and writes the dataset.

Everything is drawn with numpy and Pillow from a seed, so the same call always writes
byte-identical files.

    from glr.demo.dataset import ensure_demo
    root = ensure_demo()          # generates once (under a minute), then reuses it
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import os
import shutil
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from glr.demo.names import make_name
from glr.demo.scenes import DEFAULT_IMAGE_SIZE, render_photo
from glr.demo.sketch import ACCENTS, FAMILIES, MATERIALS, PATTERNS, LandmarkClass
from glr.errors import GlrError
from glr.paths import PROJECT_ROOT, demo_dir

# ---------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------

# Bump when the drawing changes, so `ensure_demo` regenerates an older dataset.
GENERATOR_VERSION = 1

DEFAULT_CLASSES = 100
DEFAULT_MEAN_PER_CLASS = 20
# DEFAULT_IMAGE_SIZE (256) is imported above from `glr.demo.scenes`, where `render_photo` uses it.
DEFAULT_SEED = 0

# Long tail: the biggest class holds 3x the mean, the smallest 0.3x (60 .. 6 for a mean
# of 20), like the study's subset where a few famous landmarks dominate.
HEAD_RATIO = 3.0
TAIL_RATIO = 0.3

# Real GLDv2 landmark ids are sparse integers up to ~203k, not 0..N-1; code that
# assumes contiguous labels should fail on the demo just as it would on the real data.
MAX_LANDMARK_ID = 200_000

# The narrowest photo width `generate_demo` accepts (heights vary: see `ASPECTS`).
MIN_IMAGE_SIZE = 32

COMPLETE_MARKER = ".complete"
PARTIAL_SUFFIX = ".partial-"

MAX_WORKERS = 8  # beyond this, a first run gains little and holds more memory (a worker holds about 50 MB)


def default_workers() -> int:
    """Drawing processes for this computer: one per core this process may use, at least 2 (the two-core machine this
    targets) and at most MAX_WORKERS."""
    try:
        cores = len(os.sched_getaffinity(0))  # a container's or `taskset`'s limit, where os.cpu_count() is the host's
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 2
    return max(2, min(MAX_WORKERS, cores))


DEFAULT_WORKERS = default_workers()


# ---------------------------------------------------------------------------------------
# The classes
# ---------------------------------------------------------------------------------------


def demo_classes(n_classes: int = DEFAULT_CLASSES, seed: int = DEFAULT_SEED) -> list[LandmarkClass]:
    """Describe the demo's landmarks: ids, names, structure family and colours, by seed."""
    if not 1 <= n_classes <= MAX_LANDMARK_ID:  # more than ids to draw from: NumPy's ValueError
        raise GlrError(f"The demo has 1 to {MAX_LANDMARK_ID:,} classes, not {n_classes:,}.")
    rng = np.random.default_rng([seed, 1])
    ids = np.sort(rng.choice(MAX_LANDMARK_ID, size=n_classes, replace=False))
    # Each family gets its own shuffled palette so its variants never share a colour.
    palettes = {f: (rng.permutation(len(MATERIALS)), rng.permutation(len(ACCENTS)),
                    rng.permutation(len(PATTERNS))) for f in FAMILIES}
    # Which landmark id gets which family is shuffled too; the ids carry no structure.
    slots = rng.permutation(n_classes)
    classes, names = [], set()
    for index in range(n_classes):
        slot = int(slots[index])
        family = FAMILIES[slot % len(FAMILIES)]
        variant = slot // len(FAMILIES)
        name = make_name(family, rng)
        while name in names:
            name = make_name(family, rng)
        names.add(name)
        mains, accents, patterns = palettes[family]
        main = MATERIALS[mains[variant % len(MATERIALS)]]
        accent = ACCENTS[accents[variant % len(ACCENTS)]]
        pattern = list(PATTERNS)[patterns[variant % len(PATTERNS)]]
        classes.append(LandmarkClass(index, int(ids[index]), name, family, variant, main, accent,
                                     pattern, int(rng.integers(2**31))))
    return classes


def class_counts(n_classes: int = DEFAULT_CLASSES, mean_per_class: float = DEFAULT_MEAN_PER_CLASS,
                 seed: int = DEFAULT_SEED) -> list[int]:
    """Images per class: a long-tailed power curve from 3x the mean down to 0.3x.

    The rank-r class (r in 0..1) gets `low + (high - low) * (1 - r) ** p`, with `p`
    chosen so the counts average `mean_per_class`; they add up to exactly
    `round(n_classes * mean_per_class)`. The order is shuffled by seed, so which landmark
    is frequent carries no meaning.
    """
    total = int(round(n_classes * mean_per_class))
    if n_classes < 1 or total < n_classes:
        raise GlrError(f"Cannot draw {mean_per_class} images per class for {n_classes} classes.")
    high = HEAD_RATIO * mean_per_class
    low = max(1.0, round(TAIL_RATIO * mean_per_class))
    if n_classes == 1 or mean_per_class <= low:
        curve = np.zeros(n_classes)
    else:
        power = (high - low) / (mean_per_class - low) - 1.0
        curve = (1.0 - np.linspace(0.0, 1.0, n_classes)) ** power
    # Scale the curve above the floor so the total is exact, then round without losing
    # images: floor everything and hand the remainder to the largest fractions.
    spare = total - low * n_classes
    # A flat curve (one class, or a mean at the floor) shares the spare evenly; it must stay
    # an array so the rounding below can index it.
    raw = low + (curve * spare / curve.sum() if curve.sum() > 0 else np.full(n_classes, spare / n_classes))
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    order = np.random.default_rng([seed, 2]).permutation(n_classes)
    return [int(c) for c in counts[order]]


def image_id(seed: int, landmark_id: int, index: int) -> str:
    """A GLDv2-style image id: 16 lowercase hex digits, from a hash of (seed, class, index)."""
    return hashlib.sha1(f"glr-demo:{seed}:{landmark_id}:{index}".encode()).hexdigest()[:16]


def image_relpath(image_id_: str) -> str:
    """Where GLDv2 keeps an image: train/<a>/<b>/<c>/<id>.jpg, from the id's first digits."""
    return f"train/{image_id_[0]}/{image_id_[1]}/{image_id_[2]}/{image_id_}.jpg"


# ---------------------------------------------------------------------------------------
# Writing the dataset
# ---------------------------------------------------------------------------------------


def _render_class(job) -> int:
    """Worker: render and save every photo of one class. Returns how many it wrote."""
    cls, seed, image_size, root, ids = job
    for index, id_ in enumerate(ids):
        # Each photo has its own generator, so the output does not depend on which
        # worker draws it or in what order.
        rng = np.random.default_rng([seed, cls.index, index])
        photo = render_photo(cls, rng, image_size)
        path = Path(root) / image_relpath(id_)
        path.parent.mkdir(parents=True, exist_ok=True)
        photo.save(path, "JPEG", quality=int(rng.integers(55, 96)))
    return len(ids)


def _parameters(n_classes, seed, image_size, mean_per_class) -> dict:
    return {"generator_version": GENERATOR_VERSION, "n_classes": n_classes, "seed": seed,
            "image_size": image_size, "mean_per_class": mean_per_class}


def _is_complete(root: Path, params: dict) -> bool:
    try:
        marker = json.loads((root / COMPLETE_MARKER).read_text())
    except (OSError, ValueError):
        return False
    # A marker beside no train.csv or train/ (deleted by hand): "Generate" must draw it again, not return at once.
    return marker == params and (root / "train.csv").is_file() and (root / "train").is_dir()


def _looks_like_demo(root: Path) -> bool:
    """Only ever delete a folder that is empty or holds what this module writes."""
    if not root.exists():
        return True
    if not root.is_dir():
        return False
    names = {p.name for p in root.iterdir()}
    return names <= {"train", "train.csv", "train_label_to_category.csv", COMPLETE_MARKER}


def _remove_stale_partials(root: Path) -> None:
    """Delete half-written siblings left by generations that were killed."""
    for partial in root.parent.glob(root.name + PARTIAL_SUFFIX + "*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def generate_demo(out_dir=None, n_classes: int = DEFAULT_CLASSES, seed: int = DEFAULT_SEED,
                  image_size: int = DEFAULT_IMAGE_SIZE, mean_per_class: float = DEFAULT_MEAN_PER_CLASS,
                  progress: Optional[Callable[[int, int], None]] = None,
                  workers: int = DEFAULT_WORKERS) -> Path:
    """Draw the demo dataset into `out_dir` (default `demo_dir()`) and return that folder.

    The files are written to a temporary sibling folder that replaces `out_dir` only once
    complete, with a `.complete` marker (the generation parameters) written last, so a
    reader never sees a half-written dataset. `progress(done, total)` is called as images
    are written. `workers` processes draw in parallel; 0 or 1 draws in this process.
    """
    root = Path(out_dir).expanduser() if out_dir is not None else demo_dir()
    if image_size < MIN_IMAGE_SIZE:
        raise GlrError(f"Demo images must be at least {MIN_IMAGE_SIZE} px wide, not {image_size}.")
    if not _looks_like_demo(root):
        raise GlrError(f"{root} exists and holds files that are not a glr demo dataset; "
                       "choose an empty or new folder for the demo.")
    classes = demo_classes(n_classes, seed)
    counts = class_counts(n_classes, mean_per_class, seed)
    ids = [[image_id(seed, c.landmark_id, i) for i in range(n)] for c, n in zip(classes, counts)]
    if len({i for batch in ids for i in batch}) != sum(counts):  # 64-bit ids: never in practice
        raise GlrError("Demo image ids collided; try another seed.")

    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(root)
    tmp = root.parent / f"{root.name}{PARTIAL_SUFFIX}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        # Biggest classes first, so two workers finish at about the same time.
        jobs = [(c, seed, image_size, str(tmp), batch) for c, batch in zip(classes, ids)]
        jobs.sort(key=lambda job: -len(job[4]))
        total, done = sum(counts), 0
        if progress:
            progress(0, total)
        if workers and workers > 1:
            # "spawn" rather than fork: the caller may already run TensorFlow threads,
            # which do not survive a fork.
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                for n in pool.imap_unordered(_render_class, jobs):
                    done += n
                    if progress:
                        progress(done, total)
        else:
            for job in jobs:
                done += _render_class(job)
                if progress:
                    progress(done, total)

        rows = sorted((i, c.landmark_id) for c, batch in zip(classes, ids) for i in batch)
        with open(tmp / "train.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "landmark_id"])
            writer.writerows(rows)
        with open(tmp / "train_label_to_category.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["landmark_id", "category"])
            writer.writerows((c.landmark_id, c.category) for c in classes)
        params = _parameters(n_classes, seed, image_size, mean_per_class)
        (tmp / COMPLETE_MARKER).write_text(json.dumps(params, sort_keys=True) + "\n")

        # Swap the finished folder in. Another process may have finished the same
        # dataset meanwhile; then keep theirs.
        if root.exists():
            if _is_complete(root, params):
                return root
            shutil.rmtree(root)
        try:
            os.replace(tmp, root)
        except OSError:
            if not _is_complete(root, params):  # lost a race to a different generation
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def is_ready(out_dir=None) -> bool:
    """True when the default demo dataset is complete at `out_dir` (default `demo_dir()`)."""
    root = Path(out_dir).expanduser() if out_dir is not None else demo_dir()
    return _is_complete(root, _parameters(DEFAULT_CLASSES, DEFAULT_SEED, DEFAULT_IMAGE_SIZE, DEFAULT_MEAN_PER_CLASS))


def ensure_demo(out_dir=None, progress: Optional[Callable[[int, int], None]] = None) -> Path:
    """Return the default demo dataset's folder, generating it first unless already complete."""
    root = Path(out_dir).expanduser() if out_dir is not None else demo_dir()
    params = _parameters(DEFAULT_CLASSES, DEFAULT_SEED, DEFAULT_IMAGE_SIZE, DEFAULT_MEAN_PER_CLASS)
    if _is_complete(root, params):
        return root
    return generate_demo(root, DEFAULT_CLASSES, DEFAULT_SEED, DEFAULT_IMAGE_SIZE, DEFAULT_MEAN_PER_CLASS,
                         progress, DEFAULT_WORKERS)


def ensure_demo_in_child(out_dir=None, progress: Optional[Callable[[int, int], None]] = None) -> Path:
    """`ensure_demo` in a child `python -m glr.demo.dataset` process, its progress read from its output.

    For a caller whose own modules must stay out of the drawing processes: a "spawn" worker
    imports its parent's `__main__`, which in a Streamlit server is the page being run, so the
    page would run again in every worker (printing Streamlit's "missing ScriptRunContext").
    """
    import subprocess
    import sys
    import tempfile

    root = Path(out_dir).expanduser() if out_dir is not None else demo_dir()
    if is_ready(root):
        return root
    argv = [sys.executable, "-m", "glr.demo.dataset", "--out", str(root), "--classes", str(DEFAULT_CLASSES),
            "--seed", str(DEFAULT_SEED), "--image-size", str(DEFAULT_IMAGE_SIZE),
            "--mean-per-class", str(DEFAULT_MEAN_PER_CLASS), "--workers", str(DEFAULT_WORKERS), "--progress-lines"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))  # checkout or not
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: a full pipe would block the child
        with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, env=env,
                              text=True) as proc:
            for line in proc.stdout:
                parts = line.split()
                if len(parts) == 3 and parts[0] == "progress" and progress:
                    progress(int(parts[1]), int(parts[2]))
        if proc.returncode != 0:
            errors.seek(0)
            lines = errors.read().decode("utf-8", "replace").strip().splitlines()
            raise GlrError(f"generating the demo dataset in {root} failed: {lines[-1].removeprefix('error: ') if lines else proc.returncode}")
    return root


def main(argv=None) -> None:
    """`python -m glr.demo.dataset [--out DIR] [--seed N] ...`: generate the demo with a progress bar."""
    import argparse

    from tqdm import tqdm

    parser = argparse.ArgumentParser(description="Generate the glr demo dataset (GLDv2 layout).")
    parser.add_argument("--out", default=None, help=f"output folder (default {demo_dir()})")
    parser.add_argument("--classes", type=int, default=DEFAULT_CLASSES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--image-size", type=int, default=DEFAULT_IMAGE_SIZE)
    parser.add_argument("--mean-per-class", type=float, default=DEFAULT_MEAN_PER_CLASS)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--progress-lines", action="store_true", help='print "progress DONE TOTAL" lines, no bar')
    args = parser.parse_args(argv)
    if args.progress_lines:  # for ensure_demo_in_child; a GlrError's message ends up in its error
        try:
            generate_demo(args.out, args.classes, args.seed, args.image_size, args.mean_per_class,
                          lambda done, total: print("progress", done, total, flush=True), args.workers)
        except GlrError as exc:
            raise SystemExit(f"error: {exc}") from None
        return
    with tqdm(unit="img", desc="demo") as bar:
        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)
        root = generate_demo(args.out, args.classes, args.seed, args.image_size, args.mean_per_class,
                             progress, args.workers)
    print(root)


if __name__ == "__main__":
    main()
