"""Static int8 quantization of an exported extractor: the same network, 2-3x faster here.

ONNX Runtime's static quantization (QDQ format, per-channel int8 weights, uint8
activations) turns the fp32 extractor of `glr.backbones.onnx_features` into one that runs
on the CPU's int8 dot-product instructions (AVX-512 VNNI where it was first measured). EfficientNet-Lite was
designed to survive this: its features stay within a cosine of about 0.99 of fp32's
(benchmarks/README.md, "int8 feature extraction"). On an x86 CPU without VNNI (AVX2 only) the weights keep 7 bits
(`reduce_range`), as ONNX Runtime advises: with 8 they saturated its kernels (Lite0 on wonders7: cosine 0.93 to
fp32's, 0.975 with 7 bits), and the speed-up there is about 1.4x, not 2.3x.

Static quantization needs the range of every activation, measured on a calibration set.
Ours is fixed and needs neither the network nor the user's photos: CALIBRATION_IMAGES demo
photos rendered in memory from fixed seeds (landmarks and plain street scenes, the same
generator as the embedded demo). Measured on the exported Lite0, calibrating on those or
on real photos (wonders7) gave the same cosines to fp32 on both datasets.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

CALIBRATION_IMAGES = 64
CALIBRATION_SEED = 20261202
CALIBRATION_BATCH = 8
# Every PLAIN_EVERY-th calibration photo is a street scene without a landmark.
PLAIN_EVERY = 4
# Bump when the quantization recipe or the calibration set changes, so old files are never read.
FORMAT = "1"


# x86 CPUs with these flags multiply int8 in 32 bits (VNNI); without them ONNX Runtime's u8s8 kernels (VPMADDUBSW)
# add pairs of products in 16 bits, which saturate: on an AVX2-only AMD EPYC a test's features fell to a cosine of
# 0.94 of fp32's (0.99 on AVX-512 VNNI). ONNX Runtime's advice for those CPUs is 7-bit weights (reduce_range).
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
CPUINFO = "/proc/cpuinfo"


@functools.lru_cache(maxsize=1)
def reduce_range() -> bool:
    """Whether the int8 weights keep 7 bits so this CPU's int8 kernels cannot saturate: on an x86 CPU without VNNI,
    or one whose flags cannot be read (not Linux); never on ARM, whose int8 dot products do not saturate."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return False
    try:
        with open(CPUINFO, encoding="ascii", errors="replace") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), None)
    except OSError:
        return True
    return flags is None or not any(flag in flags for flag in VNNI_FLAGS)


def recipe() -> str:
    """The quantization recipe's name in file and cache names: FORMAT, and "r" with 7-bit weights (reduce_range),
    so an extractor or features made the other way (a cache copied from another CPU) are never read as these."""
    return FORMAT + ("r" if reduce_range() else "")


def int8_suffix() -> str:
    """What an int8 feature cache's folder name adds for 7-bit weights ("r"; "" for the recipe it always had)."""
    return "r" if reduce_range() else ""


def available() -> bool:
    """True when ONNX Runtime's quantization tools can be imported."""
    try:
        import onnxruntime.quantization  # noqa: F401
    except Exception:  # noqa: BLE001 - a broken install is as good as none
        return False
    return True


def calibration_images(input_size: int, preprocess: Callable | None,
                       n: int | None = None, seed: int = CALIBRATION_SEED) -> np.ndarray:
    """(n, S, S, 3) float32 preprocessed calibration images: demo photos drawn in memory from fixed seeds.

    Deterministic (same seeds, same pixels), offline, and independent of the user's data.
    """
    from PIL import Image

    from glr.demo.dataset import demo_classes
    from glr.demo.scenes import render_photo

    classes = demo_classes()
    images = []
    for i in range(CALIBRATION_IMAGES if n is None else n):
        # Spread the landmarks over the classes (37 is prime to 100), with plain scenes between.
        cls = None if i % PLAIN_EVERY == PLAIN_EVERY - 1 else classes[(i * 37) % len(classes)]
        photo = render_photo(cls, np.random.default_rng([seed, i]), width=max(256, input_size))
        images.append(np.asarray(photo.convert("RGB").resize((input_size, input_size), Image.BILINEAR), np.float32))
    batch = np.stack(images)
    return np.asarray(preprocess(batch), np.float32) if preprocess else batch


def quantize(fp32_path: str | os.PathLike, out_path: str | os.PathLike, calibration: np.ndarray) -> Path:
    """Quantize the ONNX model at `fp32_path` to static int8 (QDQ), calibrated on `calibration`; written atomically.

    Raises whatever ONNX Runtime raises when it cannot (the caller falls back to fp32).
    """
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    input_name = ort.InferenceSession(str(fp32_path), providers=["CPUExecutionProvider"]).get_inputs()[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.start = 0

        def get_next(self):
            if self.start >= len(calibration):
                return None
            batch = calibration[self.start:self.start + CALIBRATION_BATCH]
            self.start += CALIBRATION_BATCH
            return {input_name: batch}

    # The temporary files sit beside the target, so the final rename stays on one file system.
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".quantize-") as tmp:
        pre, quantized = Path(tmp) / "pre.onnx", Path(tmp) / "int8.onnx"
        # Fold and fuse first (the recipe ONNX Runtime recommends); symbolic shape inference
        # is skipped: tf2onnx's graphs already carry their shapes and it fails on some.
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(quantized), Reader(), quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=reduce_range(),
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        os.replace(quantized, out_path)
    return out_path
