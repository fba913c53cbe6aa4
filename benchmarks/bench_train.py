"""Training: the study's way (Keras fit through a frozen backbone) vs glr's phase 1, side by side.

The study's way recomputes the frozen backbone on every image in every epoch, under live
random crop and flip, and evaluates the validation images through it after each epoch.
glr's way (glr.training.trainer, the product as `python -m glr train` runs it, starting from an EMPTY
feature cache so extraction is counted) runs the backbone a few times per photo and trains
the head on cached features, in both of its augment spaces: "features" (the default:
windows of the feature maps of the centre crop and its mirror image, 2 passes per training
photo) and "images" (the clean view, its mirror and 3 augmented crops, 5 passes per
training photo). Both ways get the same data, split,
backbone, head, optimiser, epochs and seed. glr keeps the best epoch by validation loss;
for the study both its last epoch and its best epoch by validation loss are printed.
glr's time includes everything `train` does: building the backbone, features, phase 1,
evaluation, the similarity index (with its distractor photos) and the report. Neither way's time
includes importing TensorFlow, done once before both. Extraction
runs on glr's default engine (ONNX Runtime); its exported extractor, like the converted
weights, is made once per machine and linked into the empty cache (bench_extract.py times
the export).
Goal (issue #15): at least 10x faster for 20 epochs, at equal or better accuracy.

ResNet152, the study's backbone, runs on a smaller subset with random weights (Keras'
ImageNet weights cannot be downloaded here), for the time ratio only.

    .venv/bin/python benchmarks/bench_train.py [--tiny]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

GOAL = 10.0
EPOCHS = 20
SEED = 42
# Sized so that the whole benchmark takes about 10 minutes here.
MAIN = dict(backbone="efficientnet_lite0", weights="imagenet", classes=100, per_class=60)  # the whole demo
DEEP = dict(backbone="resnet152", weights=None, classes=10, per_class=8)
TINY = dict(backbone="efficientnet_lite0", weights="imagenet", classes=3, per_class=6)
TINY_EPOCHS = 2
SPACES = ["features", "images"]  # glr's two ways of taking crops (glr.training.config.TrainConfig.augment_space)


def _default_space() -> str:
    from glr.training.config import TrainConfig

    return TrainConfig().augment_space


DEFAULT_SPACE = _default_space()


def _stages():
    from glr.evaluation import finish, report
    from glr.training import trainer as train

    return [(train.Trainer, "features"), (train.Trainer, "phase1"), (finish, "index_run"),
            (report, "write_report")]


def config(root: Path, case: dict, epochs: int, input_size: int | None, augment_space: str):
    """glr's TrainConfig for a case; patience = epochs, so both ways train every epoch."""
    from glr.training.config import TrainConfig

    return TrainConfig(data=str(root), top_n=case["classes"], backbone=case["backbone"], weights=case["weights"],
                       input_size=input_size, epochs=epochs, patience=epochs, seed=SEED,
                       augment_space=augment_space).validate()


def study_way(cfg) -> dict:
    """Keras fit on backbone + head, the backbone frozen but run on every image every epoch."""
    import keras

    from glr.data import datasets
    from glr.backbones.registry import build_backbone
    from glr.training.model import build_classifier, build_head
    from glr.data.pipeline import make_dataset
    from glr.training.settings import resolve

    settings = resolve(cfg)
    spec, size = settings.spec, settings.input_size
    split = datasets.curate(datasets.load_catalog(cfg.data), top_n=cfg.top_n, min_images=cfg.min_images,
                            val_fraction=cfg.val_fraction, seed=cfg.seed)
    n = split.num_classes
    with common.Timer() as t:
        keras.utils.set_random_seed(cfg.seed)
        backbone = build_backbone(cfg.backbone, weights=cfg.weights, input_size=size)
        backbone.trainable = False
        model = build_classifier(backbone, build_head(spec.feature_dim, n, cfg.hidden, cfg.dropout, cfg.seed), size)
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                      loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
                      metrics=["accuracy"])
        common_args = dict(input_size=size, preprocess=spec.preprocess, batch_size=cfg.batch_size)

        def one_hot(x, y):
            return x, keras.ops.one_hot(y, n)

        train = make_dataset(split.train["path"].tolist(), split.train["label"], training=True, shuffle=True,
                             seed=cfg.seed, **common_args).map(one_hot)
        val = make_dataset(split.val["path"].tolist(), split.val["label"], **common_args).map(one_hot)
        history = model.fit(train, validation_data=val, epochs=cfg.epochs, verbose=0, shuffle=False).history  # the dataset reshuffles itself each epoch
    best = int(np.argmin(history["val_loss"]))
    return {"seconds": t.seconds, "top1": history["val_accuracy"][-1], "top1_best": history["val_accuracy"][best],
            "train": len(split.train), "val": len(split.val), "classes": n}


def glr_way(cfg, results: Path) -> dict:
    """glr's trainer end to end (features, phase 1, evaluation, index, report) from an empty feature cache."""
    from glr.training.launch import new_run
    from glr.training.trainer import train_run

    with common.empty_feature_cache(), common.stage_timer() as stages:
        for owner, name in _stages():
            stages.wrap(owner, name)
        with common.Timer() as t:
            run = new_run(results, cfg)
            metrics = train_run(run)
    status = run.status()
    phase1 = float(run.history()["seconds"].sum())
    return {"seconds": t.seconds, "top1": metrics["top1"], "features_computed": status.get("features_computed"),
            "phase1_epochs_seconds": phase1, "stages": dict(stages.seconds)}


def compare(name: str, case: dict, epochs: int, input_size: int | None, tmp: Path, spaces: list[str]) -> dict:
    """The study's way and glr's (once per augment space) on one case; prints and returns the figures."""
    root = common.demo_subset(tmp / f"data-{name.replace(' ', '-')}", case["classes"], case["per_class"]) if "root" not in case \
        else case["root"]
    print(f"\n-- {name}: {case['backbone']} ({'ImageNet' if case['weights'] else 'random init: speed only'}), "
          f"{epochs} epochs", flush=True)
    out = {}
    for space in spaces:
        cfg = config(root, case, epochs, input_size, space)
        ours = glr_way(cfg, tmp / f"results-{name.replace(' ', '-')}-{space}")
        label = f"glr ({space}{', the default' if space == DEFAULT_SPACE else ''})"
        print(f"{label + ':':28s} {ours['seconds']:7.1f} s  top-1 {ours['top1']:.3f}  ({ours['features_computed']} "
              f"backbone inputs; the {epochs} head epochs took {ours['phase1_epochs_seconds']:.1f} s)", flush=True)
        print(" " * 29 + "stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in ours["stages"].items()), flush=True)
        out[space] = ours
    study = study_way(config(root, case, epochs, input_size, DEFAULT_SPACE))
    print(f"{'study (Keras fit):':28s} {study['seconds']:7.1f} s  top-1 {study['top1']:.3f} (last epoch), "
          f"{study['top1_best']:.3f} (best epoch by val loss)  [{study['train']} train, {study['val']} val images, "
          f"{study['classes']} classes]")
    for space, ours in out.items():
        ours["ratio"] = study["seconds"] / ours["seconds"]
        print(f"ratio, {space}: glr is {ours['ratio']:.1f}x faster", flush=True)
    return {"study": study, **out}


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    # Both ways run in this process, the study's after glr's: TensorFlow is imported before either is timed, so
    # that neither pays its 4-5 s import (glr's first case paid it alone before, inside its timer).
    import tensorflow  # noqa: F401

    common.header("training: the study's way vs glr's phase 1")
    with tempfile.TemporaryDirectory(prefix="glr-bench-train-") as tmp:
        tmp = Path(tmp)
        if args.tiny:  # one case, one way: the smoke test must stay quick
            data = common.tiny_dataset(tmp / "tiny")
            main_case = compare("tiny", {**TINY, "root": data}, TINY_EPOCHS, common.TINY_SIZE, tmp, ["features"])
            deep_case = None
        else:
            main_case = compare("default backbone", MAIN, EPOCHS, None, tmp, SPACES)
            deep_case = compare("the study's backbone", DEEP, EPOCHS, None, tmp, SPACES)
    study = main_case["study"]
    parts = []
    for space in [s for s in SPACES if s in main_case]:
        ours = main_case[space]
        deep = f", {DEEP['backbone']} {deep_case[space]['ratio']:.1f}x" if deep_case else ""
        parts.append(f"{space} {ours['ratio']:.1f}x at top-1 {ours['top1']:.3f}{deep}")
    ratio = main_case[DEFAULT_SPACE]["ratio"] if DEFAULT_SPACE in main_case else main_case["features"]["ratio"]
    accurate = (main_case.get(DEFAULT_SPACE) or main_case["features"])["top1"] >= study["top1"]
    verdict = "met" if ratio >= GOAL and accurate else "NOT met"
    common.summary(f"train: glr vs the study's way (top-1 {study['top1']:.3f}, best epoch {study['top1_best']:.3f}): "
                   f"{'; '.join(parts)} (goal >= {GOAL:.0f}x for the default, {DEFAULT_SPACE}): {verdict}")
    return {"ratio": ratio, "main": main_case, "deep": deep_case}


if __name__ == "__main__":
    main()
