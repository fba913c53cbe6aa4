"""The head's training loss and the open set: label smoothing, LogitNorm, a cosine head and ArcFace, against glr's.

Issue #14 asks for more of the left-out landmarks' photos to be called unknown. The
out-of-distribution literature changes the classifier's loss for that: no label smoothing (which is
said to blur the softmax's confidence), LogitNorm (Wei et al., 2022: cross-entropy on the logits
divided by their norm and a temperature), a cosine classifier (normalised features and class
weights, scaled), and ArcFace's additive angular margin (Deng et al., 2019; the landmark
competitions' winners trained with it). For each seed this trains the open-set benchmark's split as
`python -m glr openset` does (phase 1 only, the frozen backbone), then trains one head per loss on the
same flip-averaged pooled features (the study's head: unit length, Dense 512 relu, dropout 0.5, then
the classes; Adam at glr's learning rate, glr's epochs and batch size), and scores each with glr's
known score (the even mean of the head's top probability and the nearest training photo's similarity,
over the same index). glr's own head, trained on the cached image views, is the first row. The unknown
threshold keeps 95% of the known validation photos, as runs calibrate it.

    .venv/bin/python benchmarks/bench_head_loss.py [DATA] [--seeds 0 1 2] [--tiny]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_embeddings  # noqa: E402

GLR = "glr's head (image views, smoothing 0.1)"
SCALE = 16.0  # the cosine heads' logit scale
# name -> (cosine head?, loss of (one-hot targets, head outputs), outputs -> logits for the softmax)
LOSSES = {
    "smoothing 0.1 (glr's loss)": (False, lambda y, z, ce: ce(y, z, label_smoothing=0.1), lambda z: z),
    "smoothing 0": (False, lambda y, z, ce: ce(y, z), lambda z: z),
    "smoothing 0.5": (False, lambda y, z, ce: ce(y, z, label_smoothing=0.5), lambda z: z),
    "LogitNorm, t=0.04": (False, lambda y, z, ce: ce(y, _logit_norm(z)), lambda z: _logit_norm(z)),
    "cosine head, smoothing 0.1": (True, lambda y, z, ce: ce(y, SCALE * z, label_smoothing=0.1), lambda z: SCALE * z),
    "ArcFace, margin 0.2": (True, lambda y, z, ce: ce(y, SCALE * _arc_margin(y, z)), lambda z: SCALE * z),
}

# --tiny trains one head per loss function (the other smoothings are glr's loss with another number): 4 fits, not 6.
TINY_LOSSES = ["smoothing 0.1 (glr's loss)", "LogitNorm, t=0.04", "cosine head, smoothing 0.1", "ArcFace, margin 0.2"]


def _logit_norm(z, t: float = 0.04):
    import keras

    return z / (t * (keras.ops.norm(z, axis=1, keepdims=True) + 1e-7))


def _arc_margin(y, cos, margin: float = 0.2):
    import keras

    cos = keras.ops.clip(cos, -1 + 1e-6, 1 - 1e-6)
    return y * keras.ops.cos(keras.ops.arccos(cos) + margin) + (1 - y) * cos


def _head(dim: int, classes: int, cosine: bool, seed: int):
    """The study's head with linear outputs: logits, or cosines to the class weights when `cosine`."""
    import keras

    inputs = keras.Input((dim,))
    x = keras.layers.UnitNormalization()(inputs)
    x = keras.layers.Dense(512, activation="relu", kernel_initializer=keras.initializers.HeUniform(seed=seed))(x)
    x = keras.layers.Dropout(0.5, seed=seed)(x)
    if cosine:
        x = keras.layers.UnitNormalization()(x)
        out = keras.layers.Dense(classes, use_bias=False, kernel_constraint=keras.constraints.UnitNorm(axis=0),
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1))(x)
    else:
        out = keras.layers.Dense(classes, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1))(x)
    return keras.Model(inputs, out)


def train_head(name: str, x: np.ndarray, y: np.ndarray, classes: int, config, seed: int):
    """A head trained with loss `name` on features `x` and class indices `y`; returns photos -> probabilities."""
    import keras
    import tensorflow as tf

    cosine, loss, to_logits = LOSSES[name]
    keras.utils.set_random_seed(seed)
    head = _head(x.shape[1], classes, cosine, seed)
    ce = lambda t, z, **kw: keras.losses.categorical_crossentropy(t, z, from_logits=True, **kw)  # noqa: E731
    head.compile(keras.optimizers.Adam(config.learning_rate), lambda t, z: loss(t, z, ce))
    data = tf.data.Dataset.from_tensor_slices((x.astype(np.float32), np.eye(classes, dtype=np.float32)[y]))
    head.fit(data.shuffle(len(x), seed=seed).batch(config.batch_size), epochs=config.epochs, shuffle=False, verbose=0)
    return lambda feats: keras.ops.convert_to_numpy(keras.ops.softmax(to_logits(head(feats.astype(np.float32)))))


def run_dataset(data: Path, seeds, config, say=print) -> pd.DataFrame:
    """Every loss's open-set figures and top-1 per seed on `data`."""
    rows = []
    for seed, trainer, head, pooled, distractors in bench_embeddings.trained_splits(data, seeds, config, say):
        tables, emb, index = bench_embeddings.split_embeddings(trainer, pooled, distractors)
        top = {g: index.search(emb[g], 1)[0][:, 0] for g in ("val", "held", "distractors")}
        y = {g: tables[g]["label"].to_numpy().astype(int) for g in ("train", "val")}
        heads = {GLR: lambda feats: head.predict(feats, verbose=0)}
        for name in (TINY_LOSSES if bench_embeddings.is_tiny(data) else LOSSES):
            heads[name] = train_head(name, emb["train"], y["train"], len(trainer.labels), config, seed)
        for name, predict in heads.items():
            probs = {g: predict(emb[g]) for g in ("val", "held", "distractors")}
            known = {g: (probs[g].max(1) + top[g]) / 2 for g in probs}
            rows.append({"seed": seed, "head": name, **bench_embeddings.open_set_figures(known),
                         "top1": float((probs["val"].argmax(1) == y["val"]).mean())})
        say(f"seed {seed}: {len(heads)} heads scored")
    return pd.DataFrame(rows)


def main(argv=None) -> dict:
    """Run the benchmark; returns the means over seeds per head."""
    return bench_embeddings.candidates_main(argv, __doc__, "the head's loss and the open set", run_dataset, "head",
                                            ["known_kept", "held_out_unknown", "distractors_unknown", "auroc", "top1"],
                                            "smoothing 0.1 (glr's loss)", "glr's loss")


if __name__ == "__main__":
    main()
