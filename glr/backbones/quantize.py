"""Static int8 quantization of an exported extractor: the same network, 2-3x faster here.

ONNX Runtime's static quantization (QDQ format, per-channel int8 weights, uint8
activations) turns the fp32 extractor of `glr.backbones.onnx_features` into one that runs
on the CPU's int8 dot-product instructions (AVX-512 VNNI here). EfficientNet-Lite was
designed to survive this: its features stay within a cosine of about 0.99 of fp32's
(benchmarks/README.md, "int8 feature extraction").

Static quantization needs the range of every activation, measured on a calibration set.
Ours is fixed and needs neither the network nor the user's photos: CALIBRATION_IMAGES demo
photos rendered in memory from fixed seeds (landmarks and plain street scenes, the same
generator as the embedded demo). Measured on the exported Lite0, calibrating on those or
on real photos (wonders7) gave the same cosines to fp32 on both datasets.
"""

from __future__ import annotations

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
        quantize_static(str(pre), str(quantized), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        os.replace(quantized, out_path)
    return out_path
