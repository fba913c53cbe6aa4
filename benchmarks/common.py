"""Helpers shared by the benchmark scripts: machine facts, timing, temp caches, datasets.

Every figure the benchmarks report is a ratio of two things measured side by side in the
same run, because this machine is shared and its absolute speed varies by 2x or more.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python benchmarks/x.py` from anywhere
    sys.path.insert(0, str(ROOT))

# Tiny mode: real code paths on a few small images, so the smoke test runs in seconds.
TINY_SIZE = 32


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the `--tiny` flag every benchmark has."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--tiny", action="store_true", help="a few tiny images and 1-2 epochs: checks the script runs")
    return p


def machine() -> str:
    """Cores, RAM and the load average right now (other work shares this machine)."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, {ram:.0f} GiB RAM, load average {load}"


def header(title: str) -> None:
    """Print the benchmark's title and the machine it runs on."""
    print(f"== {title}")
    print(f"machine: {machine()}", flush=True)


def summary(text: str) -> None:
    """The one summary line every benchmark ends with."""
    print(f"SUMMARY {text}  [load {os.getloadavg()[0]:.2f}]", flush=True)


class Timer:
    """`with Timer() as t: ...` then `t.seconds`; `Timer(time.process_time)` times this process's CPU instead."""

    def __init__(self, clock=time.perf_counter):
        self.clock = clock

    def __enter__(self):
        self.start = self.clock()
        return self

    def __exit__(self, *exc):
        self.seconds = self.clock() - self.start


def median_ms(fn, repeats: int, warmup: int = 3) -> float:
    """Median wall time of `fn()` in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def interleaved_median_ms(fns: dict, repeats: int, warmup: int = 3) -> dict[str, float]:
    """Median ms of each function, calling them in turn so load changes hit all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def side_by_side(forward, images, calls: int) -> None:
    """`calls` calls of `forward(images)`, as many at once as its `concurrency` allows (glr's extractor runs one
    batch per session, glr.backbones.onnx_features.ExtractorSessions); one at a time for any other forward."""
    width = getattr(forward, "concurrency", 1)
    if width <= 1:
        for _ in range(calls):
            forward(images)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(width) as pool:
        list(pool.map(lambda _: forward(images), range(calls)))


def timed_forward(forward, add):
    """`forward` wrapped so that each call tells `add(wall, cpu)` its time: wall time counted once where calls run
    side by side (the span while any runs), CPU the calling threads' when they run side by side (ONNX Runtime
    sessions of one thread each run in the caller), else the process's, as before; its `engine` and `concurrency` kept."""
    import threading

    lock, state = threading.Lock(), {"running": 0, "since": 0.0}
    width = getattr(forward, "concurrency", 1)
    clock = time.thread_time if width > 1 else time.process_time

    def run(images):
        cpu = clock()
        with lock:
            if not state["running"]:
                state["since"] = time.perf_counter()
            state["running"] += 1
        try:
            return forward(images)
        finally:
            with lock:
                state["running"] -= 1
                wall = 0.0 if state["running"] else time.perf_counter() - state["since"]
            add(wall, clock() - cpu)

    run.engine, run.concurrency = getattr(forward, "engine", "tf"), width
    return run


class _StageTimer:
    """Wraps functions with timers (the code itself is unchanged); `seconds` sums each one's time."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._restore = []

    def wrap(self, owner, name: str) -> None:
        """Time every call of `owner.name` (a class method or a module function) until the end."""
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

        setattr(owner, name, timed)
        self._restore.append((owner, name, original))


@contextlib.contextmanager
def stage_timer():
    """`with stage_timer() as s: s.wrap(Class, "method")`: time stages of a run without changing it."""
    timer = _StageTimer()
    try:
        yield timer
    finally:
        for owner, name, original in reversed(timer._restore):
            setattr(owner, name, original)


@contextlib.contextmanager
def empty_feature_cache():
    """A fresh GLR_CACHE_DIR whose feature cache is empty, so extraction is counted.

    Everything else in the real cache is linked in (the converted backbone weights, the
    exported extractors, the generated distractor photos): those are made once per machine,
    not per training. What is made per photo is not: a first training on a dataset hashes
    its photos and makes their thumbnails. Nor are the predictor's exports of runs ("onnx").
    """
    from glr.cache_subdirs import FEATURES_SUBDIR, HASHES_SUBDIR
    from glr.paths import cache_dir

    real = cache_dir()
    old = os.environ.get("GLR_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="glr-bench-cache-") as tmp:
        for entry in (real.iterdir() if real.is_dir() else []):
            if entry.name not in (FEATURES_SUBDIR, HASHES_SUBDIR, "onnx", "thumbnails") and entry.is_dir():
                (Path(tmp) / entry.name).symlink_to(entry)
        os.environ["GLR_CACHE_DIR"] = tmp
        try:
            yield Path(tmp)
        finally:
            if old is None:
                os.environ.pop("GLR_CACHE_DIR", None)
            else:
                os.environ["GLR_CACHE_DIR"] = old


def demo_root() -> Path:
    """The embedded demo dataset, generated on first use."""
    from glr.demo import dataset as demo

    return Path(demo.ensure_demo())


def demo_subset(out: Path, classes: int, per_class: int, seed: int = 0) -> Path:
    """A GLDv2 folder of the demo's `classes` largest classes, at most `per_class` images each.

    The images are not copied: `train/` links to the demo's own folder.
    """
    src = demo_root()
    table = pd.read_csv(src / "train.csv")
    keep = table["landmark_id"].value_counts().index[:classes]
    table = table[table["landmark_id"].isin(keep)]
    table = table.sample(frac=1.0, random_state=seed).groupby("landmark_id").head(per_class).sort_index()
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "train.csv", index=False)
    shutil.copy(src / "train_label_to_category.csv", out / "train_label_to_category.csv")
    if not (out / "train").exists():
        (out / "train").symlink_to(src / "train")
    return out


def tiny_dataset(out: Path, classes: int = 3, per_class: int = 6, size: int = 48) -> Path:
    """A GLDv2 folder of colour-coded noisy JPEGs: learnable, and made in a blink."""
    from PIL import Image

    rows = []
    for c in range(classes):
        base = np.random.default_rng(c).integers(0, 256, 3)
        for i in range(per_class):
            iid = f"{c:04x}{i:012x}"
            path = out / "train" / iid[0] / iid[1] / iid[2] / f"{iid}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            noise = np.random.default_rng(1000 * c + i).integers(-20, 20, (size, size, 3))
            Image.fromarray((base + noise).clip(0, 255).astype(np.uint8)).save(path, quality=90)
            rows.append({"id": iid, "landmark_id": c + 1})
    pd.DataFrame(rows).to_csv(out / "train.csv", index=False)
    return out


def jpeg_files(out: Path, n: int, width: int = 640, height: int = 480) -> list[str]:
    """`n` photo-sized JPEGs with some structure (gradients and noise), for decode timings."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    for i in range(n):
        base = np.stack([(xx * (i + 1)) % 256, (yy * 3) % 256, (xx + yy) % 256], -1)
        arr = (base + rng.integers(-30, 30, base.shape)).clip(0, 255).astype(np.uint8)
        path = out / f"{i:05d}.jpg"
        Image.fromarray(arr).save(path, quality=90)
        paths.append(str(path))
    return paths


def run_child(args: list[str], env: dict | None = None) -> tuple[str, float]:
    """Run a Python child process; return (its stdout, its peak RSS in GB).

    Each child is measured alone: `ru_maxrss` of RUSAGE_CHILDREN is the largest peak of any
    waited-for child so far, so the child reports its own peak (`peak_rss_gb`) on its last stdout line instead.
    """
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env={**os.environ, **(env or {})},
                          cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{args} failed:\n{proc.stderr[-3000:]}")
    lines = proc.stdout.strip().splitlines()
    return "\n".join(lines[:-1]), float(lines[-1].split()[-1])


def peak_rss_gb() -> float:
    """This process's own peak resident set size so far (since its start or `reset_peak_rss`), in GB.

    The kernel's VmHWM, not `ru_maxrss`: Linux carries a process's high-water mark over `exec`, so a child's
    ru_maxrss is at least its parent's peak when it was spawned (measured: 0.60 GB in a child of 11 MB whose parent
    had once held 0.6 GB), and `reset_peak_rss` cannot lower it. ru_maxrss where /proc is missing.
    """
    try:
        line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024 / 1e9
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def reset_peak_rss() -> bool:
    """Start this process's peak RSS again from its RSS now, so `peak_rss_gb` measures what follows alone (not the
    imports and set-up before it); False where the kernel cannot (Linux >= 4.0 can: clear_refs "5")."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def current_rss_gb() -> float:
    """This process's resident set size now, in GB (from /proc/self/statm)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e9


def peak_rss_mb() -> float:
    """`peak_rss_gb` in MiB: this process's own peak since its start or `start_step_mb`."""
    return peak_rss_gb() * 1e9 / 2**20


def start_step_mb() -> float:
    """The RSS now in MiB, the peak started again from it: a step's peak is then its own, not the set-up's."""
    now = current_rss_gb() * 1e9 / 2**20
    reset_peak_rss()
    return now


def checkout(rev: str, out: Path) -> Path:
    """The `glr` package of git revision `rev`, extracted under `out` (put `out` first on sys.path to import it)."""
    out.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", rev, "glr"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def old_module(path: str | os.PathLike, name: str):
    """The module in file `path` (an older copy of a glr module, for `--old`), loaded under `name`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
