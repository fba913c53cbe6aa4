"""Feature extraction engines: TensorFlow (with its thread settings) vs ONNX Runtime, and GFLOP/s vs the peak.

The default backbone's frozen forward pass on preprocessed batches of 16, 32 and 64,
interleaved so that the machine's load hits every engine alike:

- TensorFlow, its default thread pools (the traced `tf.function` glr used before);
- TensorFlow with 2 intra-op and 1 inter-op threads (a child process: TF's threads are
  fixed once it starts);
- ONNX Runtime as glr runs it (`glr.backbones.onnx_features`: the machine's cores, no busy-waiting);
- ONNX Runtime on the int8 extractor (`glr.backbones.quantize`: static QDQ quantization of the
  fp32 file, calibrated once on rendered demo photos), with its one-time cost and the cosine of
  its features to fp32's on photos it was not calibrated on (rendered demo photos of other
  seeds, and wonders7's photos when /work/shared/data/wonders7 is there).

FLOPs per image are counted by TensorFlow's profiler (`tf.compat.v1.profiler`, float_operation:
a multiply-add counts 2) on the frozen graph at batch 1; the peak is cores x clock x 2 FMA units
x the vector unit's float32 lanes (16 with AVX-512, 8 with AVX2) x 2. Then the whole extraction (`extract_features`: decode,
resize, crop, preprocess and the backbone, overlapped) runs on 640x480 JPEGs on both engines.
Goal: ONNX Runtime is the default engine if it wins at batches 16-64, with outputs within 1e-4.

    .venv/bin/python benchmarks/bench_extract.py [--tiny]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

BATCHES = (16, 32, 64)
TOLERANCE = 1e-4
WONDERS7 = Path(__file__).resolve().parents[2] / "shared" / "data" / "wonders7"
COSINE_PHOTOS = 160  # per set; the int8 features' cosine to fp32 on each


def cosine_sets(size: int, preprocess, n: int) -> dict:
    """Preprocessed photos the int8 extractor was not calibrated on: rendered demo ones, and wonders7's if present."""
    from PIL import Image

    from glr.backbones import quantize

    sets = {"demo (rendered)": quantize.calibration_images(size, preprocess, n=n, seed=quantize.CALIBRATION_SEED + 1)}
    files = sorted(WONDERS7.glob("train/*/*/*/*.jpg"))
    if files:
        files = [files[i] for i in np.random.default_rng(0).permutation(len(files))[:n]]
        batch = np.stack([np.asarray(Image.open(f).convert("RGB").resize((size, size), Image.BILINEAR), np.float32)
                          for f in files])
        sets["wonders7"] = np.asarray(preprocess(batch), np.float32)
    return sets


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity."""
    return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def vector_unit() -> tuple[str, int]:
    """The widest float32 FMA unit /proc/cpuinfo names and its lanes: ("AVX-512", 16), ("AVX2", 8) or ("SSE", 4).

    The machine changed from AVX-512 to AVX2 on 6 December: a peak counted with 16 lanes halved every percentage."""
    try:
        flags = next((line.split(":")[1].split() for line in open("/proc/cpuinfo") if line.startswith("flags")), [])
    except OSError:
        flags = []
    if "avx512f" in flags:
        return "AVX-512", 16
    return ("AVX2", 8) if "fma" in flags and "avx2" in flags else ("SSE", 4)


def peak_gflops() -> float:
    """cores x GHz x 2 FMA units x the vector unit's float32 lanes x 2 flops (from /proc/cpuinfo's clock and flags)."""
    mhz = 2600.0
    try:
        mhz = next(float(line.split(":")[1]) for line in open("/proc/cpuinfo") if line.startswith("cpu MHz"))
    except (OSError, StopIteration, ValueError):
        pass
    return (os.cpu_count() or 1) * mhz / 1000 * 2 * vector_unit()[1] * 2


def flops_per_image(model, size: int) -> float:
    """Float operations of one forward pass, counted by TF's profiler on the frozen graph."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    fn = tf.function(lambda x: model(x, training=False))
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function(tf.TensorSpec((1, size, size, 3), tf.float32)))
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(frozen.graph.as_graph_def(), name="")
        opts = tf.compat.v1.profiler.ProfileOptionBuilder(tf.compat.v1.profiler.ProfileOptionBuilder.float_operation())
        opts = opts.with_empty_output().build()
        return float(tf.compat.v1.profiler.profile(graph=graph, options=opts).total_float_ops)


def rates(fns: dict, size: int, batches: tuple, rounds: int, per_cpu: dict | None = None) -> dict:
    """Images per second of each engine at each batch size, engines interleaved, best of `rounds`.

    `per_cpu` (if given) receives each engine's images per CPU-second (median): a figure
    that other work on the machine disturbs far less than wall time.
    """
    out = {}
    for batch in batches:
        x = np.random.default_rng(0).uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)
        for fn in fns.values():
            common.side_by_side(fn, x, getattr(fn, "concurrency", 1))  # warm-up: traces, allocates
        best = {name: 0.0 for name in fns}
        cpu = {name: [] for name in fns}
        for _ in range(rounds):
            for name, fn in fns.items():
                # glr's extractor runs a batch per session, side by side (ExtractorSessions): timed as it runs.
                calls = getattr(fn, "concurrency", 1)
                start, start_cpu = time.perf_counter(), time.process_time()
                common.side_by_side(fn, x, calls)
                best[name] = max(best[name], calls * batch / (time.perf_counter() - start))
                cpu[name].append(calls * batch / max(time.process_time() - start_cpu, 1e-9))
        out[batch] = best
        if per_cpu is not None:
            per_cpu[batch] = {name: float(np.median(v)) for name, v in cpu.items()}
    return out


def tf_threads_child(size: int, rounds: int, tiny: bool) -> None:
    """In a child: TF with 2 intra-op and 1 inter-op threads; prints its rates as JSON, then a peak-RSS line."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from glr.backbones.features import compiled_forward
    from glr.backbones.registry import DEFAULT_BACKBONE, build_backbone

    forward = compiled_forward(build_backbone(DEFAULT_BACKBONE, input_size=size))
    result = rates({"tf": lambda x: forward(x).numpy()}, size, BATCHES[:1] if tiny else BATCHES, rounds)
    print(json.dumps({str(b): r["tf"] for b, r in result.items()}))
    print(f"peak {common.peak_rss_gb():.2f}")


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    from glr.backbones.registry import DEFAULT_BACKBONE, get_backbone

    size = common.TINY_SIZE if args.tiny else get_backbone(DEFAULT_BACKBONE).input_size
    rounds = 2 if args.tiny else 6
    if args.child:
        return tf_threads_child(size, rounds, args.tiny)
    common.header("feature extraction: TensorFlow vs ONNX Runtime")
    from glr.backbones import features, onnx_features, quantize
    from glr.backbones.registry import build_backbone

    with tempfile.TemporaryDirectory(prefix="glr-bench-extract-") as tmp, common.empty_feature_cache():
        with common.Timer() as built:
            model = build_backbone(DEFAULT_BACKBONE, input_size=size)
        tf_forward = features.compiled_forward(model)
        # A fresh cache folder: the export is timed, then its file is reused.
        os.environ["GLR_CACHE_DIR"] = tmp
        with common.Timer() as exported:
            onnx = onnx_features.onnx_extractor(model, tf_forward, size, 1 << 30, "pooled")
        if onnx is None:
            print("ONNX Runtime unavailable or the export failed: nothing to compare")
            return {}
        spec = get_backbone(DEFAULT_BACKBONE)
        with common.Timer() as quantized, common.Timer(time.process_time) as quantized_cpu:
            int8 = onnx_features.onnx_extractor(model, tf_forward, size, 1 << 30, "pooled", int8=True,
                                                preprocess=spec.preprocess)
        x = np.random.default_rng(1).uniform(-1, 1, (8, size, size, 3)).astype(np.float32)
        diff = float(np.abs(tf_forward(x).numpy() - onnx(x)).max())
        batches = BATCHES[:1] if args.tiny else BATCHES
        engines = {"TF (default threads)": lambda b: tf_forward(b).numpy(), "ONNX Runtime": onnx}
        cos = {}
        if int8 is None:
            print("int8 quantization failed: no int8 column (the warning above says why)")
        else:
            engines["ONNX int8"] = int8
            for name, photos in cosine_sets(size, spec.preprocess, 16 if args.tiny else COSINE_PHOTOS).items():
                c = np.concatenate([cosines(onnx(photos[i:i + 32]), int8(photos[i:i + 32]))
                                    for i in range(0, len(photos), 32)])
                cos[name] = {"median": float(np.median(c)), "p5": float(np.percentile(c, 5)), "min": float(c.min()),
                             "n": len(c)}
        per_cpu: dict = {}
        measured = rates(engines, size, batches, rounds, per_cpu)
        child, _ = common.run_child([__file__, "--child", *(["--tiny"] if args.tiny else [])])
        for batch, value in json.loads(child.splitlines()[-1]).items():
            measured[int(batch)]["TF (2 intra, 1 inter)"] = value
        flops = flops_per_image(model, size)
        peak = peak_gflops()
        print(f"backbone build {built.seconds:.1f} s; ONNX export (once per machine) {exported.seconds:.1f} s; "
              f"max |TF - ONNX| {diff:.2e}")
        if int8 is not None:
            print(f"int8 quantization (once per machine, {quantize.CALIBRATION_IMAGES} calibration photos rendered): "
                  f"{quantized.seconds:.1f} s wall, {quantized_cpu.seconds:.1f} CPU-s")
            for name, c in cos.items():
                print(f"cosine int8 vs fp32 features, {c['n']} {name} photos: median {c['median']:.4f}, "
                      f"p5 {c['p5']:.4f}, min {c['min']:.4f}")
        print(f"{DEFAULT_BACKBONE} at {size} px: {flops / 1e9:.3f} GFLOP per image (TF profiler); "
              f"peak {peak:.0f} GFLOP/s ({os.cpu_count()} cores, {vector_unit()[0]} FMA)")
        for batch, row in measured.items():
            cells = ", ".join(f"{name} {r:.0f} img/s ({r * flops / 1e9:.0f} GFLOP/s, {100 * r * flops / 1e9 / peak:.0f}%)"
                              for name, r in row.items())
            print(f"batch {batch}: {cells}", flush=True)
            print("   per CPU-second: " + ", ".join(f"{name} {r:.0f} img ({r * flops / 1e9:.0f} GFLOP, "
                                                   f"{100 * r * flops / 1e9 / (peak / (os.cpu_count() or 1)):.0f}% of a core's peak)"
                                                   for name, r in per_cpu[batch].items()), flush=True)
        # The whole extraction, pipeline included, on photo-sized JPEGs.
        n = 32 if args.tiny else 320
        photos = common.jpeg_files(Path(tmp) / "jpeg", n, *((64, 48) if args.tiny else (640, 480)))
        whole = {}
        for engine in ("tf", "onnx", "int8", "tf", "onnx", "int8") if int8 is not None else ("tf", "onnx", "tf", "onnx"):
            with common.Timer() as t:
                features.extract_features(model, photos, input_size=size, preprocess=spec.preprocess, engine=engine)
            whole[engine] = max(whole.get(engine, 0.0), n / t.seconds)
        print(f"extract_features on {n} 640x480 JPEGs (decode, resize, crop, backbone; batch 32): "
              f"TF {whole['tf']:.0f} img/s, ONNX Runtime {whole['onnx']:.0f} img/s"
              + (f", int8 {whole['int8']:.0f} img/s" if "int8" in whole else ""), flush=True)
    wins = all(row["ONNX Runtime"] > max(v for k, v in row.items() if k not in ("ONNX Runtime", "ONNX int8"))
               for row in measured.values())
    int8_text = ""
    if "int8" in whole:
        speedup = np.mean([r["ONNX int8"] / r["ONNX Runtime"] for r in measured.values()])
        cpu_speedup = np.mean([r["ONNX int8"] / r["ONNX Runtime"] for r in per_cpu.values()])
        int8_text = (f"; int8 {speedup:.2f}x fp32 ONNX's img/s ({cpu_speedup:.2f}x per CPU-second), whole extraction "
                     f"{whole['int8'] / whole['onnx']:.2f}x, cosine to fp32 "
                     + ", ".join(f"{k} median {c['median']:.4f} p5 {c['p5']:.4f}" for k, c in cos.items())
                     + f", quantized once in {quantized.seconds:.0f} s")
    efficiency = np.mean([r["ONNX Runtime"] / r["TF (default threads)"] for r in per_cpu.values()])
    best = max(measured[b]["ONNX Runtime"] for b in measured)
    common.summary(f"extraction: ONNX Runtime {'wins' if wins else 'does NOT win'} at batches "
                   f"{'/'.join(map(str, measured))} in wall time, {efficiency:.2f}x TF's images per CPU-second "
                   f"(best {best:.0f} img/s = {best * flops / 1e9:.0f} GFLOP/s, "
                   f"{100 * best * flops / 1e9 / peak:.0f}% of the {peak:.0f} GFLOP/s peak), max diff {diff:.1e} "
                   f"(goal <= {TOLERANCE:g}: {'met' if diff <= TOLERANCE else 'NOT met'}); whole extraction "
                   f"{whole['onnx'] / whole['tf']:.2f}x TF's{int8_text}")
    return {"rates": measured, "diff": diff, "flops": flops, "peak": peak, "whole": whole, "int8_cosine": cos}


if __name__ == "__main__":
    main()
