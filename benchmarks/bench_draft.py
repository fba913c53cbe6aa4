"""JPEG reduced-size decoding: how much faster, and whether it changes anything measurable.

`glr.data.images.load_resized` lets the JPEG decoder stop at a side down to DRAFT_SLACK of
the target (then upscales slightly) instead of insisting on at least the target. On real
photos (wonders7, when present; else the demo) both decodes go through Lite0: the cosine
similarity of their pooled features, and how often Lite0's ImageNet top-1 agrees. For
scale, the same figures between two equally valid exact decodes (bilinear vs bicubic
resize). Then the decode + resize speed of both on 640x480 JPEGs, in one run.

A candidate is measured the same way but not used by glr: OpenCV's INTER_AREA resize after
the draft decode instead of Pillow's bilinear (about 5x faster to resize; exports document
Pillow's bilinear, so adopting it would change their recipe too).

    .venv/bin/python benchmarks/bench_draft.py [--tiny]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

WONDERS7 = Path("/work/shared/data/wonders7")


def decoded(paths, size, slack, resample=None):
    """Centre crops (N, input, input, 3) of each photo resized to `size` with DRAFT_SLACK = slack."""
    from PIL import Image

    from glr.data import images
    from glr.data.pipeline import CROP_RATIO

    old = images.DRAFT_SLACK
    images.DRAFT_SLACK = slack
    try:
        out = []
        for p in paths:
            if resample is None:
                arr = images.load_resized(p, size)
            elif resample == "opencv-area":  # a candidate, not glr's decode: see main()
                import cv2

                cv2.setNumThreads(1)  # "one thread", like Pillow here
                arr = cv2.resize(images.decode_image(p, draft_size=images.draft_side(size)), (size, size),
                                 interpolation=cv2.INTER_AREA)
            else:
                arr = np.asarray(Image.fromarray(images.decode_image(p, draft_size=size)).resize((size, size), resample))
            out.append(arr)
    finally:
        images.DRAFT_SLACK = old
    crop = int(round(size * CROP_RATIO))
    offset = (size - crop) // 2
    return np.stack(out)[:, offset:offset + crop, offset:offset + crop].astype(np.float32)


def compare(model, a, b) -> tuple[float, float]:
    """(median cosine of the pooled features, share of equal ImageNet top-1) between two decodes."""
    from glr.backbones.efficientnet_lite import preprocess_input

    def run(x):
        outs = [model(preprocess_input(x[i:i + 64]), training=False) for i in range(0, len(x), 64)]
        return np.concatenate([np.asarray(o[0]) for o in outs]), np.concatenate([np.asarray(o[1]) for o in outs])

    (fa, pa), (fb, pb) = run(a), run(b)
    cos = (fa * fb).sum(1) / (np.linalg.norm(fa, axis=1) * np.linalg.norm(fb, axis=1) + 1e-9)
    return float(np.median(cos)), float((pa.argmax(1) == pb.argmax(1)).mean())


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    import keras
    from PIL import Image

    from glr.backbones.registry import build_classifier_lite
    from glr.data import images

    common.header("JPEG reduced-size decoding")
    size = 64 if args.tiny else 256
    real = sorted(str(p) for p in WONDERS7.rglob("*.jpg")) if WONDERS7.is_dir() else []
    real = real[:8] if args.tiny else real
    where = "wonders7" if real else "synthetic 640x480 JPEGs"
    with tempfile.TemporaryDirectory(prefix="glr-bench-draft-") as tmp:
        photos = common.jpeg_files(Path(tmp), 8 if args.tiny else 200, *((160, 120) if args.tiny else (640, 480)))
        real = real or photos
        classifier = build_classifier_lite()
        gap = next(layer for layer in classifier.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D))
        model = keras.Model(classifier.input, [gap.output, classifier.output])
        crops = {}
        for name, slack, resample in (("exact", 1.0, None), ("draft", images.DRAFT_SLACK, None),
                                      ("exact, bicubic", 1.0, Image.Resampling.BICUBIC),
                                      ("draft, OpenCV area", images.DRAFT_SLACK, "opencv-area")):
            crops[name] = np.concatenate([decoded(real[i:i + 32], size, slack, resample) for i in range(0, len(real), 32)])
            if crops[name].shape[1] != 224:  # tiny mode: the classifier needs 224 px
                crops[name] = np.asarray(keras.ops.image.resize(crops[name], (224, 224)))
        cos, agree = compare(model, crops["exact"], crops["draft"])
        ref_cos, ref_agree = compare(model, crops["exact"], crops["exact, bicubic"])
        cv_cos, cv_agree = compare(model, crops["draft"], crops["draft, OpenCV area"])
        speed = {}
        for slack, resample in ((1.0, None), (images.DRAFT_SLACK, None), (images.DRAFT_SLACK, "opencv-area")) * 2:
            with common.Timer() as t:
                decoded(photos, size, slack, resample)
            speed[slack, resample] = max(speed.get((slack, resample), 0.0), len(photos) / t.seconds)
        cv_speed = speed.pop((images.DRAFT_SLACK, "opencv-area"))
        speed = {slack: rate for (slack, _), rate in speed.items()}
    print(f"on {len(real)} photos ({where}): exact vs draft (slack {images.DRAFT_SLACK}): median feature cosine "
          f"{cos:.4f}, same ImageNet top-1 {100 * agree:.1f}%")
    print(f"   for scale, exact bilinear vs exact bicubic: cosine {ref_cos:.4f}, same top-1 {100 * ref_agree:.1f}%")
    print(f"   candidate, OpenCV INTER_AREA instead of Pillow's bilinear after the draft decode: cosine {cv_cos:.4f}, "
          f"same top-1 {100 * cv_agree:.1f}%; decode + resize {cv_speed:.0f} img/s")
    ratio = speed[images.DRAFT_SLACK] / speed[1.0]
    print(f"decode + resize of 640x480 JPEGs to {size} px, one thread: exact {speed[1.0]:.0f} img/s, "
          f"draft {speed[images.DRAFT_SLACK]:.0f} img/s")
    common.summary(f"draft decoding: {ratio:.1f}x faster on 640x480 JPEGs; on {where} its features differ from the "
                   f"exact decode's about as much as another filter's (cosine {cos:.4f} vs {ref_cos:.4f}, same top-1 "
                   f"{100 * agree:.1f}% vs {100 * ref_agree:.1f}%)")
    return {"ratio": ratio, "cos": cos, "agree": agree, "ref_cos": ref_cos, "ref_agree": ref_agree,
            "opencv_cos": cv_cos, "opencv_agree": cv_agree, "opencv_speed_ratio": cv_speed / speed[images.DRAFT_SLACK]}


if __name__ == "__main__":
    main()
