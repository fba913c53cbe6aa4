"""Shared fixtures: tiny datasets written on the fly, so tests need no network and no real photos."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

WONDERS7 = Path(__file__).resolve().parents[2] / "shared" / "data" / "wonders7"


_MADE_FOR_THE_SESSION: list[str] = []


def pytest_configure(config):
    """Keep tests away from the user's caches (converted weights and features go to a temp dir); Ctrl-C as at a terminal."""
    import os

    import session_dirs

    folders = (("GLR_CACHE_DIR", "glr-test-cache-"), ("GLR_DEMO_DIR", "glr-test-demo-"))
    session_dirs.sweep_stale(tuple(prefix for _, prefix in folders))  # what killed sessions left behind
    for variable, prefix in folders:
        if variable not in os.environ:
            os.environ[variable] = session_dirs.make(prefix)
            _MADE_FOR_THE_SESSION.append(os.environ[variable])
    # One BLAS thread in each test process and what it starts (set before the xdist workers import numpy): two
    # workers share 2 cores, and OpenBLAS' second thread spins against the other worker (bench_known_scores'
    # Ledoit-Wolf fits took 8-26 s wall beside other tests, 2.4 s with one thread). TensorFlow and ONNX Runtime
    # keep their own pools.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Started as `cmd &` from a script, pytest inherits SIGINT ignored, and so would every trainer the tests start:
    # the Ctrl-C tests would then meet a background job's trainer, which rightly leaves Ctrl-C alone.
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_unconfigure(config):
    """Delete the temp dirs made for the session: the converted weights alone are 300 MB, left in /tmp by every run."""
    import shutil

    for folder in _MADE_FOR_THE_SESSION:
        shutil.rmtree(folder, ignore_errors=True)


def zip_of(members: dict[str, bytes | str]) -> bytes:
    """The bytes of a zip holding `members` (name -> content), as a browser would upload it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def image_id(landmark_id: int, index: int) -> str:
    """A GLDv2-style id: 16 hex digits."""
    return hashlib.sha1(f"{landmark_id}-{index}".encode()).hexdigest()[:16]


def write_image(path: Path, seed: int, size: int = 48, colour_seed: int | None = None) -> None:
    """A small noisy JPEG whose base colour depends on `colour_seed` (default: the seed)."""
    base = np.random.default_rng(seed if colour_seed is None else colour_seed).integers(0, 256, 3)
    noise = np.random.default_rng(seed).integers(-20, 20, (size, size, 3))
    arr = (base + noise).clip(0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, quality=90)


def make_gldv2(root: Path, counts: dict[int, int], names: dict[int, str] | None = None, url_column: bool = False) -> Path:
    """Write a GLDv2-layout dataset with counts[landmark_id] images per class."""
    rows = []
    for landmark_id, n in counts.items():
        for i in range(n):
            iid = image_id(landmark_id, i)
            write_image(root / "train" / iid[0] / iid[1] / iid[2] / f"{iid}.jpg", seed=landmark_id * 1000 + i, colour_seed=landmark_id)
            rows.append({"id": iid, "url": f"https://example.org/{iid}.jpg", "landmark_id": landmark_id})
    df = pd.DataFrame(rows)
    if not url_column:
        df = df.drop(columns="url")
    df.to_csv(root / "train.csv", index=False)
    if names:
        pd.DataFrame({"landmark_id": list(names), "category": list(names.values())}).to_csv(
            root / "train_label_to_category.csv", index=False
        )
    return root


@pytest.fixture
def gldv2(tmp_path) -> Path:
    """Four classes of 8, 6, 4 and 3 images, with Wikimedia category names."""
    names = {
        7: "http://commons.wikimedia.org/wiki/Category:Eiffel_Tower",
        12: "http://commons.wikimedia.org/wiki/Category:Sacr%C3%A9-C%C5%93ur",
        30: "http://commons.wikimedia.org/wiki/Category:Big_Ben",
        41: "http://commons.wikimedia.org/wiki/Category:Taj_Mahal",
    }
    return make_gldv2(tmp_path / "gld", {7: 8, 12: 6, 30: 4, 41: 3}, names)


@pytest.fixture
def wonders7() -> Path:
    """The real photos in ../shared/data/wonders7; tests using it skip where it is absent."""
    if not (WONDERS7 / "train.csv").exists():
        pytest.skip("../shared/data/wonders7 is not present")
    return WONDERS7


# A tiny but real configuration: real Lite0 ImageNet weights at 32 px; epochs cost milliseconds.
TINY_TRAIN = dict(input_size=32, views=2, epochs=20, batch_size=4, hidden=32, learning_rate=1e-2, patience=100)


def tiny_config(data: Path, **overrides):
    """A TrainConfig that trains in seconds on a tiny dataset."""
    from glr.training.config import TrainConfig

    return TrainConfig.from_dict({"data": str(data), **TINY_TRAIN, **overrides})


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """Three colour-coded classes of 6 images each."""
    names = {3: "Red_Fort", 5: "Blue_Mosque", 9: "Golden_Gate"}
    return make_gldv2(tmp_path_factory.mktemp("tiny"), {3: 6, 5: 6, 9: 6}, names)


@pytest.fixture(scope="session")
def regional_run(tmp_path_factory, tiny_data):
    """A tiny run at 96 px, where Lite0's map is 3x3: 14 windows, so its index's regions differ from the whole map."""
    from glr.training.launch import new_run
    from glr.training.trainer import train_run

    run = new_run(tmp_path_factory.mktemp("regional"), tiny_config(tiny_data, input_size=96, epochs=5))
    train_run(run)
    return run


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory, tiny_data):
    """One finished tiny training run, shared by the predictor, report and app tests."""
    from glr.training.launch import new_run
    from glr.training.trainer import train_run

    run = new_run(tmp_path_factory.mktemp("results"), tiny_config(tiny_data))
    train_run(run)
    return run


def at_epoch(monkeypatch, epoch: int, action) -> None:
    """Have the trainer call `action(trainer)` just after it records `epoch` in its history: a stop, a signal or a
    deleted run folder mid-training, at a known point."""
    from glr.training import trainer

    real = trainer.Trainer.append_history

    def append_history(self, row):
        real(self, row)
        if row["epoch"] == epoch:
            action(self)

    monkeypatch.setattr(trainer.Trainer, "append_history", append_history)


def rgb_profile(red, green, blue, gamma: float = 2.2, name: str = "glr test RGB") -> bytes:
    """A minimal ICC v2 display profile: three D50 primaries (XYZ) and one gamma curve (tests of colour management)."""

    def s15(v):
        return struct.pack(">i", round(v * 65536))

    def xyz(v):
        return b"XYZ " + b"\0" * 4 + b"".join(s15(c) for c in v)

    text = name.encode() + b"\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 78
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz((0.9642, 1.0, 0.8249))), (b"rXYZ", xyz(red)), (b"gXYZ", xyz(green)),
            (b"bXYZ", xyz(blue)), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset, table, body = 128 + 4 + 12 * len(tags), b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table, body = table + sig + struct.pack(">II", offset + len(body), len(data)), body + data
    header = (struct.pack(">I", offset + len(body)) + b"\0" * 4 + b"\x02\x10\0\0" + b"mntrRGB XYZ " + b"\0" * 12
              + b"acsp" + b"\0" * 28 + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + body


def grey_profile(gamma: float = 1.8) -> bytes:
    """A version 2 ICC profile of a grey with a `gamma` curve and D50 white (as Photoshop's "Gray Gamma 1.8")."""
    import struct

    def fixed(*values):  # s15Fixed16Number
        return b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    d50 = fixed(0.9642, 1.0, 0.8249)
    tags = {b"wtpt": b"XYZ \0\0\0\0" + d50, b"kTRC": b"curv\0\0\0\0" + struct.pack(">IH2x", 1, round(gamma * 256)),
            b"desc": b"desc\0\0\0\0" + struct.pack(">I", 5) + b"grey\0" + bytes(79)}
    start, table, body = 132 + 12 * len(tags), b"", b""
    for signature, data in tags.items():
        data += bytes(-len(data) % 4)
        table, body = table + signature + struct.pack(">II", start + len(body), len(data)), body + data
    header = struct.pack(">I4sI4s4s4s12s4s", start + len(body), b"lcms", 0x02100000, b"mntr", b"GRAY", b"XYZ ",
                         bytes(12), b"acsp") + bytes(28) + d50
    return header + bytes(128 - len(header)) + struct.pack(">I", len(tags)) + table + body


def display_p3_profile() -> bytes:
    """A Display P3 profile (an iPhone's photos carry one): colours glr must convert to sRGB."""
    return rgb_profile((0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841), 2.2, "Display P3")


def display_p3_png(size: tuple[int, int] = (400, 300)) -> bytes:
    """An orange PNG of `size` carrying a Display P3 profile."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 100, 50)).save(buffer, "PNG", icc_profile=display_p3_profile())
    return buffer.getvalue()


def colour_conversions(monkeypatch) -> list[tuple[int, int]]:
    """The sizes of the images LittleCMS converts from now on (the check of a profile against sRGB, on a 256x4
    probe, left out): a photo shown small must convert its own pixels only."""
    from PIL import ImageCms

    from glr.data import pixel_modes

    sizes, real = [], ImageCms.applyTransform
    monkeypatch.setattr(pixel_modes.ImageCms, "applyTransform",
                        lambda im, t, *a: (im.size != (256, 4) and sizes.append(im.size)) or real(im, t, *a))
    return sizes


# sRGB's primaries, adapted to D50 as ICC profiles hold them.
SRGB_RED, SRGB_GREEN, SRGB_BLUE = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)


def refuse_writes_under(monkeypatch, folder: Path) -> None:
    """Make every atomic write into `folder` fail as a read-only file system does (even for root, which chmod is not)."""
    import errno
    import os

    real_replace = os.replace

    def read_only(src, dst, *a, **k):
        if str(dst).startswith(str(folder)):
            raise OSError(errno.EROFS, "Read-only file system", str(dst))
        return real_replace(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", read_only)


def run_with_another_backbones_model(finished_run, folder: Path):
    """A copy of the tiny (Lite0) run under `folder` whose model.keras is a MobileNetV3 classifier of the same shape,
    as if copied in from another run."""
    import shutil

    from glr.backbones.registry import build_backbone
    from glr.training.model import build_classifier, build_head, save_model
    from glr.training.run import Run

    copy = Run(shutil.copytree(finished_run.path, folder / finished_run.path.name))
    backbone = build_backbone("mobilenet_v3_small", weights=None, input_size=32)
    save_model(build_classifier(backbone, build_head(backbone.output_shape[-1], 3, 8), 32), copy.model_path)
    return copy


def run_copy_to_verify(finished_run, folder: Path) -> tuple[Path, float]:
    """A copy of the tiny run under `folder` (no report) whose retrieval.json asks for spatial verification (k 5, a
    plain threshold just under the unknown one), and that unknown threshold."""
    import json
    import shutil

    copy = folder / "run"
    shutil.copytree(finished_run.path, copy, ignore=shutil.ignore_patterns("report", "*.png", "*.html"))
    retrieval = json.loads((copy / "retrieval.json").read_text())
    threshold = retrieval["unknown"]["threshold"]
    retrieval["verification"] = {"k": 5, "plain_threshold": threshold - 0.01}
    (copy / "retrieval.json").write_text(json.dumps(retrieval))
    return copy, threshold
