"""ONNX Runtime as a prediction backend: the same classifier, 2.7x faster per photo here (benchmarks/README.md).

A run's forward pass (the backbone's preprocessing, the backbone and the head, so the input
is RGB 0..255 like the TensorFlow path's) is converted once with tf2onnx and cached under
`~/.cache/glr/onnx`, keyed by the model file's content (its digest remembered by the file's stat, so an
unchanged model is not read again to find it); the run folder is not touched.
Outputs match TensorFlow's to within about 1e-5 (a test checks it).

Use it through the predictor: `Predictor(run_dir, backend="onnx")`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from glr.atomic import read_json, write_json, write_with
from glr.errors import GlrError
from glr.paths import cache_dir

OPSET = 17
INPUT_NAME = "image"


def available() -> bool:
    """True when tf2onnx and onnxruntime are installed."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("tf2onnx", "onnxruntime"))


def export(forward: Callable, input_size: int, path: str | os.PathLike) -> Path:
    """Convert `forward` (a TF-traceable function of an image batch) to an ONNX file, atomically."""
    import tensorflow as tf
    import tf2onnx

    signature = [tf.TensorSpec((None, input_size, input_size, 3), tf.float32, name=INPUT_NAME)]
    # A tf.function is re-wrapped from its Python function: tf2onnx gives its own signature.
    function = tf.function(getattr(forward, "python_function", forward))
    proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=OPSET)
    data = proto.SerializeToString()
    return write_with(path, lambda tmp: Path(tmp).write_bytes(data), suffix=".onnx")


def name_outputs(path: str | os.PathLike, names: list[str], batch: str = "batch") -> None:
    """Give an ONNX file's outputs these names (in order) and its batch dimension a name, in place.

    tf2onnx names a function's outputs `Identity:0`, `Identity_1:0` and the batch `unk__729`: an
    exported model is used by others, who look its outputs up by the names its note gives.
    """
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    renames = {out.name: name for out, name in zip(graph.output, names)}
    for node in graph.node:
        node.output[:] = [renames.get(n, n) for n in node.output]
        node.input[:] = [renames.get(n, n) for n in node.input]
    for value in list(graph.output) + list(graph.input):
        value.name = renames.get(value.name, value.name)
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = batch
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    write_with(path, lambda tmp: Path(tmp).write_bytes(data), suffix=".onnx")


class OnnxForward:
    """An ONNX Runtime session: an image batch (N, S, S, 3) in, the list of the function's outputs out."""

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:  # e.g. 1 in a server whose sessions predict at once: no pool of threads spinning between calls
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, images: np.ndarray) -> list[np.ndarray]:
        """Run on a batch; one array per output, in the function's order."""
        return self.session.run(None, {self.input: np.asarray(images, np.float32)})


def onnx_path(model_file: str | os.PathLike, input_size: int) -> Path:
    """Where the converted model of `model_file` is cached: keyed by the file's content and the input size."""
    return cache_dir() / "onnx" / f"{model_digest(model_file)}-{input_size}.onnx"


def forward_path(model_file: str | os.PathLike, input_size: int, embedding: str) -> Path:
    """Where the Predictor's forward pass embedding as `embedding` is cached ("flip", "rmac": files of their own)."""
    path = onnx_path(model_file, input_size)
    return path if embedding == "single" else path.with_name(f"{path.stem}-{embedding}{path.suffix}")


DIGESTS_FILE = "model-digests.json"  # in the ONNX cache folder: {absolute path: [size, mtime_ns, ctime_ns, digest]}
DIGESTS_KEPT = 256  # model files remembered, the most recently hashed
_digests: dict[str, list] = {}  # this process's, so the app's loads do not read the file either


def model_digest(model_file: str | os.PathLike) -> str:
    """The SHA-1 of a model file's bytes (its ONNX cache key), hashed again only when its stat changed.

    Hashing reads the whole file (ResNet152's is 230 MB) on every load; the digest is remembered
    by path, size, mtime and ctime (ctime cannot be set back, so a file replaced by one of the same
    size and restored mtime is hashed again), in this process and in DIGESTS_FILE for the next one.
    GlrError if the file cannot be read.
    """
    path = os.path.abspath(model_file)
    try:
        before = os.stat(path)
    except OSError:
        raise GlrError(f"{model_file}: cannot be read") from None
    stamp = [before.st_size, before.st_mtime_ns, before.st_ctime_ns]
    if path not in _digests:
        _digests.update(_read_digests())
    known = _digests.get(path)
    if isinstance(known, list) and len(known) == 4 and known[:3] == stamp and isinstance(known[3], str):
        return known[3]
    from glr.backbones.features import content_digest  # here: the module imports more than a remembered digest needs

    digest = content_digest(path)
    if not digest:
        raise GlrError(f"{model_file}: cannot be read")
    try:
        after = os.stat(path)
    except OSError:
        return digest
    if [after.st_size, after.st_mtime_ns, after.st_ctime_ns] == stamp:  # not changed while it was read
        _digests.pop(path, None)
        _digests[path] = stamp + [digest]
        _write_digests()
    return digest


def _read_digests() -> dict:
    """The remembered digests of DIGESTS_FILE; none when it is missing or damaged (the models are then hashed)."""
    try:
        found = read_json(cache_dir() / "onnx" / DIGESTS_FILE)
    except (OSError, ValueError, GlrError):
        return {}
    return found if isinstance(found, dict) else {}


def _write_digests() -> None:
    """Save the remembered digests (the latest DIGESTS_KEPT); a cache that cannot be written costs only a hash."""
    kept = dict(list(_digests.items())[-DIGESTS_KEPT:])
    try:
        write_json(cache_dir() / "onnx" / DIGESTS_FILE, kept)
    except (OSError, GlrError):
        pass


class CachedFileDamaged(GlrError):
    """The cached ONNX file of a model could not be opened; it has been removed, so it is converted again."""


# Failures of the moment, not of the model (memory short while another model loads): never remembered.
PASSING_FAILURES = ("MemoryError", "ResourceExhaustedError")


def failure_marker(path: str | os.PathLike) -> Path:
    """The marker beside an ONNX cache file saying why its conversion failed (its name carries the same key)."""
    return Path(path).with_suffix(".failed")


def _converter_version() -> str:
    """The installed tf2onnx's version, read without importing it (importing it imports TensorFlow)."""
    from importlib import metadata

    try:
        return metadata.version("tf2onnx")
    except metadata.PackageNotFoundError:
        return ""


def conversion_failure(path: str | os.PathLike) -> str | None:
    """Why the model cached at `path` could not be converted, when an earlier load tried with this tf2onnx; else None.

    The marker is keyed as the ONNX file is (the model file's content and the input size): a new model is
    tried again, and so is every model after tf2onnx is upgraded.
    """
    try:
        failure = read_json(failure_marker(path))
    except (OSError, ValueError):
        return None  # none, or unreadable: try the conversion again, which writes a good one if it fails
    if not isinstance(failure, dict) or failure.get("tf2onnx") != _converter_version():
        return None
    return str(failure.get("reason") or "the conversion failed")


def _remember_failure(path: Path, reason: str) -> None:
    """Write the failure marker of `path` (atomically); a cache that cannot be written only costs the next try."""
    try:
        write_json(failure_marker(path), {"reason": reason, "tf2onnx": _converter_version()})
    except OSError:
        pass


def failure_reason(exc: BaseException) -> str:
    """An exception in one line, as the notes quote it: its first line, or its class name."""
    return str(exc).splitlines()[0] if str(exc).strip() else exc.__class__.__name__


def onnx_forward(model_file: str | os.PathLike, forward: Callable | None, input_size: int,
                 threads: int | None = None, path: str | os.PathLike | None = None) -> OnnxForward:
    """`forward` (the TF forward pass of the model saved in `model_file`) under ONNX Runtime.

    Converted on first use and cached by the model file's content and the input size, so a
    retrained model is converted again and an unchanged one never is. `forward` is only
    needed for the conversion: None when the file exists already (no TensorFlow needed).
    `path` overrides where it is cached (default `onnx_path`), for another function of the same model.

    A conversion that fails leaves a marker beside the file with the reason (`conversion_failure`), so
    the predictor goes straight to TensorFlow next time instead of paying seconds to fail again. A cached
    file ONNX Runtime cannot open (cut short, edited) is removed: CachedFileDamaged, converted again next.
    """
    if not available():
        raise GlrError("the ONNX backend needs tf2onnx and onnxruntime (pip install -r requirements.txt)")
    path = Path(path) if path is not None else onnx_path(model_file, input_size)
    if path.is_file():
        try:
            return OnnxForward(path, threads)
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime refuses a damaged file in many ways
            path.unlink(missing_ok=True)
            raise CachedFileDamaged(f"{path}: the cached ONNX file is damaged ({failure_reason(exc)}): "
                                    "removed, so the model is converted again") from None
    if forward is None:
        raise GlrError(f"{model_file}: not converted to ONNX yet, and no forward pass given to convert")
    try:
        export(forward, input_size, path)
        session = OnnxForward(path, threads)
    except OSError:
        raise  # the disk or the cache folder (a full disk is a StorageError), not the model: worth another try
    except Exception as exc:  # noqa: BLE001 - tf2onnx fails in many ways; each is this model's, until tf2onnx changes
        path.unlink(missing_ok=True)
        if type(exc).__name__ not in PASSING_FAILURES:
            _remember_failure(path, failure_reason(exc))
        raise
    failure_marker(path).unlink(missing_ok=True)  # converted after all (asked for ONNX again): nothing to remember
    return session
