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

With `int8=True` the fp32 file is then quantized once (`glr.backbones.quantize`) into
`<key>-int8-q<format>.onnx` beside it: 2-3x faster here, features within a cosine of about
0.99. A quantization that fails leaves a `.failed` marker so it is not tried again on this
machine, and gives None: the caller falls back to fp32.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np

from glr.backbones import onnx_backend
from glr.cache_subdirs import EXTRACTORS_SUBDIR  # under glr.paths.cache_dir(); made once per machine, like the weights
from glr.paths import cache_dir

# Bump when what an exported extractor computes changes, so old files are never read.
FORMAT = "1"
# Below this many images an extractor that is not exported yet is not worth the export
# (a few seconds for Lite0): TensorFlow runs them. Random weights are never exported twice.
MIN_IMAGES_TO_EXPORT = 256
# Open sessions by key (the weights are hashed every time: a fine-tuned model is another key).
_SESSIONS: dict[str, Callable] = {}
_KEEP_SESSIONS = 4
# Sessions per extractor (ExtractorSessions), at most one per core: batches run side by side, one per session.
SESSIONS = 2
log = logging.getLogger(__name__)


def model_key(model, input_size: int, tag: str = "") -> str:
    """A digest of the model's weights, input size, `tag` (what the function computes) and the format."""
    sha = hashlib.sha1(f"{FORMAT}|{onnx_backend.OPSET}|{input_size}|{tag}|{getattr(model, 'name', '')}".encode())
    for w in model.get_weights():
        w = np.ascontiguousarray(w)
        sha.update(str((w.shape, w.dtype.str)).encode())
        sha.update(w.tobytes())
    return sha.hexdigest()[:20]


def extractor_path(key: str, int8: bool = False) -> Path:
    """Where the extractor with this key is (or will be) stored; `int8`: its quantized twin."""
    from glr import unwritable
    from glr.backbones import quantize

    name = f"{key}-int8-q{quantize.recipe()}" if int8 else key
    kept = cache_dir() / EXTRACTORS_SUBDIR / f"{name}.onnx"
    # An extractor folder that cannot be written has a stand-in (glr.unwritable): converting again at every
    # call cost seconds, and TensorFlow instead 1.4x the time.
    stand_in = unwritable.stand_in(kept.parent)
    return stand_in / kept.name if stand_in and not kept.is_file() else kept


def _export(forward: Callable, input_size: int, path: Path) -> Path:
    """Export the extractor to `path`, or, when its folder cannot be written, to this process's stand-in for it."""
    from glr import unwritable
    from glr.atomic import StorageError

    try:
        onnx_backend.export(forward, input_size, path)
        return path
    except StorageError as exc:
        if not unwritable.unwritable(exc) or unwritable.is_stand_in(path.parent):  # a stand-in refused too: say it
            raise
        folder = unwritable.make_stand_in(path.parent, exc, "feature extractors")
    return onnx_backend.export(forward, input_size, folder / path.name)


def _quantized(path: Path, fp32: Path, input_size: int, preprocess: Callable | None) -> bool:
    """Make the int8 file at `path` from `fp32` unless it exists; False (and a warning) when it cannot be made."""
    from glr.backbones import quantize

    failed = path.with_suffix(".failed")
    if path.is_file():
        return True
    if failed.is_file():
        return False  # tried on this machine before: do not pay for the failure again
    if not quantize.available():
        log.warning("feature extraction falls back to fp32: onnxruntime.quantization cannot be imported")
        return False
    try:
        log.info("quantizing the feature extractor to int8 once (%s)", path.name)
        quantize.quantize(fp32, path, quantize.calibration_images(input_size, preprocess))
    except Exception as exc:  # noqa: BLE001 - any quantizer failure means: stay on fp32
        log.warning("feature extraction falls back to fp32: int8 quantization failed (%s: %s)", type(exc).__name__, exc)
        try:
            failed.write_text(f"{type(exc).__name__}: {exc}\n")
        except OSError:
            pass
        return False
    return True


class ExtractorSession(onnx_backend.OnnxForward):
    """An ONNX Runtime session tuned for extraction: `threads` of the machine's cores, no busy-waiting.

    tf.data decodes the next batches on the same cores while the session runs, so its
    threads must yield the CPU when idle instead of spinning for work.
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name


class ExtractorSessions:
    """SESSIONS sessions of one extractor, the machine's cores shared between them, each running one batch at a time.

    Called from several threads at once (`concurrency` of them: glr.backbones.features runs that many
    batches together), each call takes a free session. One batch per core here, rather than every core on
    each layer of one batch: a layer split over the cores waits for its slowest part, and the pipeline's
    decoding keeps taking one core or the other. Extraction of the demo's photos took 6-10% less time so,
    with the same numbers (benchmarks/README.md, session 38).
    """

    def __init__(self, path: str | os.PathLike, sessions: int | None = None):
        import queue

        cores = os.cpu_count() or 1
        self.concurrency = max(1, min(sessions or SESSIONS, cores))
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(self.concurrency):
            self._free.put(ExtractorSession(path, max(1, cores // self.concurrency)))

    def __call__(self, images) -> list[np.ndarray]:
        session = self._free.get()
        try:
            return session(images)
        finally:
            self._free.put(session)


def onnx_extractor(model, forward: Callable, input_size: int, n_images: int, tag: str = "", *,
                   int8: bool = False, preprocess: Callable | None = None) -> Callable | None:
    """`forward` (a TF function of a (N, S, S, 3) batch of `model`) as an ONNX Runtime callable, or None.

    The callable takes a numpy batch and returns the function's outputs (one array, or a
    list for several). None when ONNX Runtime is not installed, when the export fails (a
    warning says why), or when the extractor is not made yet and `n_images` is too few
    to pay for it. `int8`: the statically quantized extractor, calibrated on images made
    with `preprocess` (what the pipeline applies before `forward`); None if it cannot be made.
    """
    if not onnx_backend.available() or not hasattr(model, "get_weights"):
        return None
    key = model_key(model, input_size, tag)
    session_key = f"{key}-int8" if int8 else key
    if session_key in _SESSIONS:
        return _SESSIONS[session_key]
    fp32 = extractor_path(key)
    path = extractor_path(key, int8)
    if not path.is_file() and n_images < MIN_IMAGES_TO_EXPORT:
        return None
    if int8 and not path.is_file():
        if not fp32.is_file() and onnx_extractor(model, forward, input_size, n_images, tag) is None:
            return None
        fp32, path = extractor_path(key), extractor_path(key, int8)  # in a stand-in folder if the export made one
        if not _quantized(path, fp32, input_size, preprocess):
            return None
    if not path.is_file():
        try:
            path = _export(forward, input_size, path)
        except Exception as exc:  # noqa: BLE001 - any converter failure means: stay on TensorFlow
            log.warning("feature extraction stays on TensorFlow: the ONNX export failed (%s)", exc)
            return None
    try:
        session = ExtractorSessions(path)
    except Exception as exc:  # noqa: BLE001 - a damaged file or a runtime that refuses it
        log.warning("feature extraction falls back (%s): ONNX Runtime cannot load %s (%s)",
                    "to fp32" if int8 else "to TensorFlow", path, exc)
        path.unlink(missing_ok=True)
        return None

    def run(images):
        outputs = session(np.asarray(images, np.float32))
        return outputs[0] if len(outputs) == 1 else outputs

    run.engine = "int8" if int8 else "onnx"  # which engine made the features: the cache keys them by it
    run.concurrency = session.concurrency  # calls that may run at once (glr.backbones.features._forwarded)
    while len(_SESSIONS) >= _KEEP_SESSIONS:
        _SESSIONS.pop(next(iter(_SESSIONS)))
    _SESSIONS[session_key] = run
    return run
