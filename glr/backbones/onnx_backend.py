"""ONNX Runtime as a prediction backend: the same classifier, 2.7x faster per photo here (benchmarks/README.md).

A run's forward pass (the backbone's preprocessing, the backbone and the head, so the input
is RGB 0..255 like the TensorFlow path's) is converted once with tf2onnx and cached under
`~/.cache/glr/onnx`, keyed by the model file's content; the run folder is not touched.
Outputs match TensorFlow's to within about 1e-5 (a test checks it).

Use it through the predictor: `Predictor(run_dir, backend="onnx")`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from glr.atomic import write_with
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
    from glr.backbones.features import content_digest

    digest = content_digest(str(model_file))
    if not digest:
        raise GlrError(f"{model_file}: cannot be read")
    return cache_dir() / "onnx" / f"{digest}-{input_size}.onnx"


def onnx_forward(model_file: str | os.PathLike, forward: Callable | None, input_size: int,
                 threads: int | None = None, path: str | os.PathLike | None = None) -> OnnxForward:
    """`forward` (the TF forward pass of the model saved in `model_file`) under ONNX Runtime.

    Converted on first use and cached by the model file's content and the input size, so a
    retrained model is converted again and an unchanged one never is. `forward` is only
    needed for the conversion: None when the file exists already (no TensorFlow needed).
    `path` overrides where it is cached (default `onnx_path`), for another function of the same model.
    """
    if not available():
        raise GlrError("the ONNX backend needs tf2onnx and onnxruntime (pip install -r requirements.txt)")
    path = Path(path) if path is not None else onnx_path(model_file, input_size)
    if not path.is_file():
        if forward is None:
            raise GlrError(f"{model_file}: not converted to ONNX yet, and no forward pass given to convert")
        export(forward, input_size, path)
    return OnnxForward(path, threads)
