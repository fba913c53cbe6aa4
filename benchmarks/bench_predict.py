"""Prediction latency: one photo through glr's Predictor vs the backbone's bare forward pass.

The Predictor's time runs from the file's bytes to the top-5 (decode, resize, centre crop,
preprocessing, backbone, head, ranking). The reference is the backbone alone, as a
compiled tf.function at batch 1 on an already preprocessed tensor. The same classifier
also runs through ONNX Runtime (glr.backbones.onnx_backend), bare and inside the Predictor.
All timings are interleaved, so a change in the machine's load hits them alike.
Goal: Predictor / bare backbone <= 1.2. Spatial verification (glr.retrieval.verify), which a
run indexed with local features adds to each photo, is timed beside them: one photo's SIFT
features and RANSAC against VERIFY_K training photos, all demo-style 640 px photos. So are a
flip-averaged Predictor (the photo and its mirror image in one backbone call) and a regional
one (a new run's: R-MAC of their mean map too, glr.retrieval.regional).

    .venv/bin/python benchmarks/bench_predict.py [--tiny]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

GOAL = 1.2
CLASSES = 100


def make_run(folder: Path, backbone_name: str, input_size: int):
    """A run folder the Predictor can load: config, labels and an (untrained) classifier."""
    import pandas as pd

    from glr.backbones.registry import build_backbone, get_backbone
    from glr.training.model import build_classifier, build_head, save_model
    from glr.training.run import Run

    spec = get_backbone(backbone_name)
    backbone = build_backbone(backbone_name, input_size=input_size)
    classifier = build_classifier(backbone, build_head(spec.feature_dim, CLASSES), input_size)
    folder.mkdir(parents=True, exist_ok=True)
    run = Run(folder)
    save_model(classifier, run.model_path)
    run.write_config({"train": {"backbone": backbone_name, "input_size": input_size}})
    run.write_labels(pd.DataFrame({"index": range(CLASSES), "landmark_id": [1000 + i for i in range(CLASSES)],
                                   "name": [f"Landmark {i}" for i in range(CLASSES)], "images": 10}))
    return backbone, spec


def verification(folder: Path, width: int):
    """A callable that verifies one demo photo against VERIFY_K training photos of its landmark, as the Predictor does."""
    from glr.demo.dataset import demo_classes
    from glr.demo.scenes import render_photo
    from glr.retrieval.verify import VERIFY_K, LocalFeatureStore, Verifier

    landmark = demo_classes()[0]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(VERIFY_K + 1):
        paths.append(folder / f"{i}.jpg")
        render_photo(landmark, np.random.default_rng(i), width=width).save(paths[-1], quality=90)
    verifier = Verifier(LocalFeatureStore.build(paths[1:]))
    rows = np.arange(VERIFY_K)[None]
    return lambda: verifier.inliers([paths[0]], rows)


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    from glr.backbones import onnx_backend
    from glr.backbones.registry import DEFAULT_BACKBONE
    from glr.backbones.features import compiled_forward
    from glr.predict import Predictor, eval_view

    common.header("prediction latency, one photo at a time")
    size = common.TINY_SIZE if args.tiny else 224
    # The tiny mode's median of 3 after 1 warm-up call (which traces each TF function): every callable still runs.
    repeats, warmup = (3, 1) if args.tiny else (60, 3)
    with tempfile.TemporaryDirectory(prefix="glr-bench-predict-") as tmp, common.empty_feature_cache():
        run_dir = Path(tmp) / "run"
        backbone, spec = make_run(run_dir, DEFAULT_BACKBONE, size)
        photo = Path(common.jpeg_files(Path(tmp) / "photo", 1, *((64, 48) if args.tiny else (640, 480)))[0]).read_bytes()
        bare = compiled_forward(backbone)
        x = spec.preprocess(eval_view(photo, size)[None].astype(np.float32))
        predictor = Predictor(run_dir, backend="tf")
        # A flip-averaged index (glr.retrieval.flip): the photo and its mirror in one backbone call.
        flipped = Predictor(run_dir, backend="tf", embedding="flip")
        # A new run's index is regional (glr.retrieval.regional): R-MAC of the flip-averaged map as well.
        regional = Predictor(run_dir, backend="tf", embedding="rmac")
        fns = {"bare backbone (TF)": lambda: bare(x).numpy(),
               "Predictor, bytes to top-5 (TF)": lambda: predictor.predict([photo], k=5),
               "Predictor, flip-averaged (TF)": lambda: flipped.predict([photo], k=5),
               "Predictor, regional (TF)": lambda: regional.predict([photo], k=5)}
        if onnx_backend.available():
            with common.Timer() as t:
                fast = Predictor(run_dir)  # the default backend, "auto"
            print(f"the default Predictor runs on {fast.backend}; ONNX conversion (once per model, then cached): "
                  f"{t.seconds:.1f} s")
            session = fast._onnx
            raw = eval_view(photo, size)[None].astype(np.float32)
            fns["bare classifier (ONNX Runtime)"] = lambda: session(raw)
            fns["Predictor, bytes to top-5 (ONNX)"] = lambda: fast.predict([photo], k=5)
            if not args.tiny:  # each is a conversion of its own (seconds): the tiny mode's figures are TF's
                fast_flip = Predictor(run_dir, embedding="flip")
                fns["Predictor, flip-averaged (ONNX)"] = lambda: fast_flip.predict([photo], k=5)
                fast_regional = Predictor(run_dir, embedding="rmac")
                fns["Predictor, regional (ONNX)"] = lambda: fast_regional.predict([photo], k=5)
            top_tf, top_onnx = predictor.predict([photo])[0].top, fast.predict([photo])[0].top
            print(f"same top-5 from both backends: {[t[0] for t in top_tf] == [t[0] for t in top_onnx]}")
        verify = verification(Path(tmp) / "verify", 64 if args.tiny else 640)
        fns["spatial verification, one photo"] = verify
        ms = common.interleaved_median_ms(fns, repeats, warmup)
    for name, value in ms.items():
        print(f"{name:36s} median {value:7.1f} ms")
    base = ms["bare backbone (TF)"]
    ratio = ms["Predictor, bytes to top-5 (TF)"] / base
    result = {"ratio": ratio, **ms}
    default = "Predictor, bytes to top-5 (ONNX)" if "Predictor, bytes to top-5 (ONNX)" in ms else "Predictor, bytes to top-5 (TF)"
    result["default_ratio"] = ms[default] / base
    line = (f"predict: the default Predictor ({'ONNX Runtime' if 'ONNX' in default else 'TF'}) "
            f"{result['default_ratio']:.2f}x the bare TF backbone ({ms[default]:.1f} vs {base:.1f} ms; goal <= {GOAL}x): "
            f"{'met' if result['default_ratio'] <= GOAL else 'NOT met'}; on TF {ratio:.2f}x")
    if "ONNX" in default:
        result["onnx_ratio"] = result["default_ratio"]
    flip = default.replace("bytes to top-5", "flip-averaged")
    flip = flip if flip in ms else "Predictor, flip-averaged (TF)"  # the tiny mode converts one ONNX model
    result["flip_ratio"] = ms[flip] / ms[default]
    line += f"; flip averaging {result['flip_ratio']:.2f}x the default Predictor's time ({ms[flip]:.1f} ms)"
    result["regional_ratio"] = ms[flip.replace("flip-averaged", "regional")] / ms[flip]
    line += f", regions {result['regional_ratio']:.2f}x the flip-averaged one's"
    verified = ms["spatial verification, one photo"]
    result["verify_ms"] = verified
    line += (f"; spatial verification adds {verified:.0f} ms per photo ({(ms[default] + verified) / ms[default]:.1f}x "
             f"the default Predictor's time)")
    common.summary(line)
    return result


if __name__ == "__main__":
    main()
