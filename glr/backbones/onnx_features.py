"""Feature extraction on ONNX Runtime: the frozen backbone's forward pass, exported once per machine.

A frozen backbone's forward pass (a traced TF function of a preprocessed image batch) is
converted with tf2onnx (`glr.backbones.onnx_backend.export`) and run in ONNX Runtime, which
needs 1.06-1.29x less CPU per image here than TensorFlow at batches of 16-64
(benchmarks/bench_extract.py).
The exported file is keyed by the model's weights, its input shape and what the function
computes, and kept under `<cache>/extractors`, so the conversion is paid once per backbone
and input size on a machine (like the weight conversion), not once per run.

Outputs match TensorFlow's to within 1e-4 (a test checks it). Anything that stops the
export or the session (no tf2onnx, an op it cannot convert) gives None, and the caller
falls back to TensorFlow.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np

from glr.backbones import onnx_backend
from glr.paths import cache_dir

EXTRACTORS_SUBDIR = "extractors"  # under glr.paths.cache_dir(); made once per machine, like the weights
# Bump when what an exported extractor computes changes, so old files are never read.
FORMAT = "1"
# Below this many images an extractor that is not exported yet is not worth the export
# (a few seconds for Lite0): TensorFlow runs them. Random weights are never exported twice.
MIN_IMAGES_TO_EXPORT = 256
# Open sessions by key (the weights are hashed every time: a fine-tuned model is another key).
_SESSIONS: dict[str, Callable] = {}
_KEEP_SESSIONS = 4
log = logging.getLogger(__name__)


def model_key(model, input_size: int, tag: str = "") -> str:
    """A digest of the model's weights, input size, `tag` (what the function computes) and the format."""
    sha = hashlib.sha1(f"{FORMAT}|{onnx_backend.OPSET}|{input_size}|{tag}|{getattr(model, 'name', '')}".encode())
    for w in model.get_weights():
        w = np.ascontiguousarray(w)
        sha.update(str((w.shape, w.dtype.str)).encode())
        sha.update(w.tobytes())
    return sha.hexdigest()[:20]


def extractor_path(key: str) -> Path:
    """Where the extractor with this key is (or will be) stored."""
    return cache_dir() / EXTRACTORS_SUBDIR / f"{key}.onnx"


class ExtractorSession(onnx_backend.OnnxForward):
    """An ONNX Runtime session tuned for extraction: the machine's cores, no busy-waiting.

    tf.data decodes the next batches on the same cores while the session runs, so its
    threads must yield the CPU when idle instead of spinning for work.
    """

    def __init__(self, path: str | os.PathLike):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = os.cpu_count() or 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name


def onnx_extractor(model, forward: Callable, input_size: int, n_images: int, tag: str = "") -> Callable | None:
    """`forward` (a TF function of a (N, S, S, 3) batch of `model`) as an ONNX Runtime callable, or None.

    The callable takes a numpy batch and returns the function's outputs (one array, or a
    list for several). None when ONNX Runtime is not installed, when the export fails (a
    warning says why), or when the extractor is not exported yet and `n_images` is too few
    to pay for it.
    """
    if not onnx_backend.available() or not hasattr(model, "get_weights"):
        return None
    key = model_key(model, input_size, tag)
    if key in _SESSIONS:
        return _SESSIONS[key]
    path = extractor_path(key)
    if not path.is_file():
        if n_images < MIN_IMAGES_TO_EXPORT:
            return None
        try:
            onnx_backend.export(forward, input_size, path)
        except Exception as exc:  # noqa: BLE001 - any converter failure means: stay on TensorFlow
            log.warning("feature extraction stays on TensorFlow: the ONNX export failed (%s)", exc)
            return None
    try:
        session = ExtractorSession(path)
    except Exception as exc:  # noqa: BLE001 - a damaged file or a runtime that refuses it
        log.warning("feature extraction stays on TensorFlow: ONNX Runtime cannot load %s (%s)", path, exc)
        path.unlink(missing_ok=True)
        return None

    def run(images):
        outputs = session(np.asarray(images, np.float32))
        return outputs[0] if len(outputs) == 1 else outputs

    while len(_SESSIONS) >= _KEEP_SESSIONS:
        _SESSIONS.pop(next(iter(_SESSIONS)))
    _SESSIONS[key] = run
    return run
