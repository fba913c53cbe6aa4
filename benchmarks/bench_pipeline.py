"""Input pipeline: decode + resize throughput of glr's tf.data pipeline vs the backbone's.

The pipeline (glr.data.pipeline.make_dataset in training mode: Pillow decode with JPEG
draft, resize, random crop and flip, preprocessing, batches of 32) runs alone over
photo-sized JPEGs (synthetic 640x480 and 1024x768 ones, the demo's photos and, when present,
wonders7's real photos as they are and cut to 640x480); then the default backbone runs alone on batches of 32, on the
engine feature extraction uses (glr.backbones.features.ENGINE: ONNX Runtime by default).
If the pipeline is at least 3x faster, extraction never waits on its input.

Images per second (wall) and CPU milliseconds per image (all threads of the process, which
the machine's load disturbs far less) are measured in a child process per code version;
`--before REV` also runs the pipeline of git revision REV, interleaved with the current
code's (before, after, before, after), so the two are compared in the same minutes.

    .venv/bin/python benchmarks/bench_pipeline.py [--tiny] [--before REV]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

GOAL = 3.0
BATCH = 32
# glr's default extraction decodes each photo once for 2 backbone inputs: the centre crop and its mirror
# (training's map windows, validation, the index, the predictor); `--augment-space images` for 5.
VIEWS = 2
WONDERS7 = Path("/work/shared/data/wonders7")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def photos_at(paths: list[str], out: Path, width: int, height: int) -> list[str]:
    """Each photo upright, cut to `width` x `height` (the middle of it, Pillow's ImageOps.fit) and saved as a JPEG
    of quality 90 in `out`, as a camera or a web page would size it; their paths."""
    from PIL import Image, ImageOps

    out.mkdir(parents=True, exist_ok=True)
    sized = []
    for i, path in enumerate(paths):
        with Image.open(path) as img:
            ImageOps.fit(ImageOps.exif_transpose(img).convert("RGB"), (width, height), Image.LANCZOS).save(
                out / f"{i:05d}.jpg", quality=90)
        sized.append(str(out / f"{i:05d}.jpg"))
    return sized


def pipeline_rate(paths: list[str], input_size: int, preprocess, passes: int, views: int = 0) -> tuple[float, float]:
    """(images per second, CPU ms per image) through make_dataset (training mode), after one warm-up batch.

    `views` > 0: that many views of each file instead, asked for all at once, so each file is decoded once;
    the figures are then per view. Two are the centre crop and its mirror image, what glr's default extraction
    asks for (where the pipeline knows the boxes before it starts); more are seeded random views (`--augment-space
    images`), each drawn from its seed pair inside the pipeline.
    """
    from glr.data import pipeline

    seeds = np.random.default_rng(0).integers(0, 2**31, (len(paths), views, 2)) if views else None
    if views == 2 and hasattr(pipeline, "CENTRE_MIRROR_VIEW"):
        seeds[:, 0], seeds[:, 1] = pipeline.CENTRE_VIEW, pipeline.CENTRE_MIRROR_VIEW
    ds = pipeline.make_dataset(paths, list(range(len(paths))), input_size=input_size, preprocess=preprocess,
                               training=True, batch_size=BATCH, view_seeds=seeds)
    next(iter(ds))  # builds the graph and starts the worker threads
    cpu = _cpu_seconds()
    with common.Timer() as t:
        n = sum(int(images.shape[0]) for _ in range(passes) for images, _ in ds)
    return n / t.seconds, 1000 * (_cpu_seconds() - cpu) / n


def child(root: str, sets_file: str, input_size: int, passes: int) -> None:
    """In a child process: the pipeline of the code in `root` over each set; prints JSON."""
    sys.path.insert(0, root)  # after `common`, which put this checkout first
    import glr
    from glr.backbones.registry import DEFAULT_BACKBONE, get_backbone

    assert Path(glr.__file__).resolve().is_relative_to(Path(root).resolve()), glr.__file__
    sets = json.loads(Path(sets_file).read_text())
    preprocess = get_backbone(DEFAULT_BACKBONE).preprocess
    rates = {name: pipeline_rate(paths, input_size, preprocess, passes) for name, paths in sets.items()}
    from glr.data import pipeline

    if hasattr(pipeline, "CENTRE_VIEW"):  # code that can decode a file once for several views
        for name, paths in sets.items():
            rates[f"{name}, {VIEWS} views/file"] = pipeline_rate(paths, input_size, preprocess, 1, VIEWS)
    print(json.dumps(rates))


def run_version(root: Path, sets_file: Path, input_size: int, passes: int) -> dict:
    """`child` in a fresh process (TF fixes its threads at start; each version gets its own)."""
    proc = subprocess.run([sys.executable, __file__, "--child", str(root), str(sets_file), str(input_size), str(passes)],
                          capture_output=True, text=True, cwd=common.ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"pipeline child for {root} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def backbone_rate(model, input_size: int, batches: int, engine: str) -> tuple[float, float]:
    """(images per second, CPU ms per image) through the backbone at batch 32, on the engine extraction runs it on."""
    from glr.backbones import features

    forward = features._engine(model, features.compiled_forward(model), input_size, 1 << 30, "pooled", engine)
    x = np.random.default_rng(0).uniform(-1, 1, (BATCH, input_size, input_size, 3)).astype(np.float32)
    common.side_by_side(forward, x, getattr(forward, "concurrency", 1))  # each session warmed up
    cpu = _cpu_seconds()
    with common.Timer() as t:
        common.side_by_side(forward, x, batches)  # as extraction runs it: batches side by side, one per session
    return batches * BATCH / t.seconds, 1000 * (_cpu_seconds() - cpu) / (batches * BATCH)


def mean_rates(runs: list[dict]) -> dict:
    """Per set: (mean img/s, mean CPU ms per image) over the runs."""
    return {name: tuple(float(np.mean([run[name][i] for run in runs])) for i in range(2)) for name in runs[0]}


def row(name: str, kb: float, before: dict | None, after: dict, net: float, net_cpu: float) -> str:
    """One line of the table: a set's figures before (if measured) and now, and its ratios to the backbone."""
    cells = (f"{before[name][0]:14.0f} {before[name][1]:11.2f} " if name in before else f"{'':14s} {'':11s} ") if before else ""
    return (f"{name:34s} {kb:8.0f} {cells}{after[name][0]:8.0f} {after[name][1]:11.2f} "
            f"{after[name][0] / net:10.1f}x {net_cpu / after[name][1]:5.1f}x")


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--before", metavar="REV", help="also time the pipeline of this git revision, interleaved")
    args = p.parse_args(argv)
    from glr.backbones import features
    from glr.backbones.registry import DEFAULT_BACKBONE, build_backbone, get_backbone

    common.header("input pipeline vs backbone throughput")
    spec = get_backbone(DEFAULT_BACKBONE)
    size = common.TINY_SIZE if args.tiny else spec.input_size
    n, passes, batches = (16, 1, 2) if args.tiny else (320, 2, 12)
    with tempfile.TemporaryDirectory(prefix="glr-bench-jpeg-") as tmp:
        tmp = Path(tmp)
        sets = {"640x480 JPEGs": common.jpeg_files(tmp / "640", n, *((64, 48) if args.tiny else (640, 480)))}
        if not args.tiny:
            sets["1024x768 JPEGs"] = common.jpeg_files(tmp / "1024", n, 1024, 768)
            sets["the demo's photos"] = sorted(str(p) for p in (common.demo_root() / "train").rglob("*.jpg"))[:n]
            real = sorted(str(p) for p in WONDERS7.rglob("*.jpg"))[:n] if WONDERS7.is_dir() else []
            if real:
                sets["wonders7's photos"] = real
                # The goal's size with a photo's content: the synthetic set's noise codes into about twice the bytes
                # of a real photo at 640x480, and JPEG's decoding time goes with its coded bytes.
                sets["wonders7's at 640x480"] = photos_at(real, tmp / "w640", 640, 480)
        sizes = {name: np.mean([os.path.getsize(p) for p in paths]) / 1024 for name, paths in sets.items()}
        if args.tiny:  # in process: the smoke test stays quick
            after = {name: pipeline_rate(paths, size, spec.preprocess, passes) for name, paths in sets.items()}
            after[f"640x480 JPEGs, {VIEWS} views/file"] = pipeline_rate(sets["640x480 JPEGs"], size, spec.preprocess, 1, VIEWS)
            before = None
        else:
            sets_file = tmp / "sets.json"
            sets_file.write_text(json.dumps(sets))
            old = common.checkout(args.before, tmp / "before") if args.before else None
            runs = {"before": [], "after": []}
            for _ in range(2):  # interleaved: the machine's load drifts
                if old:
                    runs["before"].append(run_version(old, sets_file, size, passes))
                runs["after"].append(run_version(common.ROOT, sets_file, size, passes))
            after = mean_rates(runs["after"])
            before = mean_rates(runs["before"]) if old else None
        model = build_backbone(DEFAULT_BACKBONE, input_size=size)
        # The engine extraction uses (ONNX Runtime by default; the tiny mode skips its export).
        engine = "tf" if args.tiny else features.ENGINE
        net, net_cpu = backbone_rate(model, size, batches, engine)
    print(f"{DEFAULT_BACKBONE} forward at {size} px, batch {BATCH} ({engine} engine): {net:.1f} img/s, "
          f"{net_cpu:.2f} CPU ms/img")
    # "x backbone": wall throughput over the backbone's; "x CPU": the backbone's CPU per image over the
    # pipeline's, which the load disturbs far less and equals the former when both fill the cores.
    print(f"{'input':34s} {'KB/file':>8s} " + (f"{'before: img/s':>14s} {'CPU ms/img':>11s} " if before else "")
          + f"{'img/s':>8s} {'CPU ms/img':>11s} {'x backbone':>11s} {'x CPU':>6s}")
    for name in after:
        print(row(name, sizes[name.split(",")[0]], before, after, net, net_cpu))
    ratio, cpu_ratio = after["640x480 JPEGs"][0] / net, net_cpu / after["640x480 JPEGs"][1]
    change = ""
    if before:
        change = (f"; CPU per 640x480 photo {before['640x480 JPEGs'][1]:.2f} -> {after['640x480 JPEGs'][1]:.2f} ms, "
                  f"per 1024x768 {before['1024x768 JPEGs'][1]:.2f} -> {after['1024x768 JPEGs'][1]:.2f} ms (vs {args.before})")
    views = after[f"640x480 JPEGs, {VIEWS} views/file"][0] / net
    real = "wonders7's at 640x480"
    on_real = (f"; real photos at 640x480 (wonders7's, cut to size): {after[real][0] / net:.1f}x "
               f"({after[real][0]:.0f} img/s)" if real in after else "")
    common.summary(f"pipeline: {ratio:.1f}x the backbone's throughput on 640x480 photos, one view per file "
                   f"({after['640x480 JPEGs'][0]:.0f} vs {net:.1f} img/s; goal >= {GOAL:.0f}x): "
                   f"{'met' if ratio >= GOAL else 'NOT met'}; per CPU-ms {cpu_ratio:.1f}x; {views:.1f}x with the "
                   f"default extraction's {VIEWS} views per decode{on_real}{change}")
    out = {"ratio": ratio, "cpu_ratio": cpu_ratio, "views_ratio": views, "backbone": net, "after": after}
    if not args.tiny:
        out["demo_ratio"] = after["the demo's photos"][0] / net
    if real in after:
        out["real_640_ratio"] = after[real][0] / net
    if before:
        out["before"] = before
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
