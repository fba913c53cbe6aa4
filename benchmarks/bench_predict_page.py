"""Memory and reruns of the Predict page with many big uploads: N phone-sized photos dropped at once.

A tiny run is trained in a temp folder (as the tests' `finished_run`), and N distinct 12 MP JPEGs of
about 5 MB are made (one photo, each with its own bytes after the image's end). A child process
opens `pages/4_predict.py` in Streamlit's AppTest and drops all N in the upload box, as a browser
does: the server's upload manager gets its own copy of each file once, and a file it releases stays
released (AppTest itself registers every file again on each run; see tests/streamlit_server.py
LikeAServer). It then times a rerun, a top-k slider change and a "Similar photos" slider change, and
prints the bytes the upload manager still holds and the child's RSS and peak RSS (the test harness's own copy
of the N photos, N x 5 MB, is in both alike and no server holds it: each is printed net of it too).

`--before REF` runs the page as it was at git REF too (exported with `git archive`), in a child of
its own, so both are measured in the same run on this shared machine.

    .venv/bin/python benchmarks/bench_predict_page.py [--photos N] [--before REF]
    .venv/bin/python benchmarks/bench_predict_page.py --tiny  (3 small photos: checks the script runs)
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

PAGE = "pages/4_predict.py"
KEY = "predict_files"


def photo(width: int, height: int) -> bytes:
    """A photo-like JPEG: gradients with sensor-like noise, about 5 MB at 12 MP."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x / 16) % 256, (y / 12) % 256, ((x + y) / 20) % 256], -1)
    noisy = np.clip(base + np.random.default_rng(0).normal(0, 16, base.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(noisy).save(out, format="JPEG", quality=90)
    return out.getvalue()


def like_a_server(released: set) -> dict:
    """Make the upload manager behave as the server's: one copy per file, kept until released. Returns that store."""
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager as Manager

    copies, add, remove = {}, Manager.add_file, Manager.remove_file

    def add_file(manager, session_id, record):
        if record.file_id in released:
            return
        if record.file_id not in copies:  # the bytes read from the HTTP request: not the harness's object
            copies[record.file_id] = bytes(bytearray(record.data))
        add(manager, session_id, record._replace(data=copies[record.file_id]))

    def remove_file(manager, session_id, file_id):
        released.add(file_id)
        copies.pop(file_id, None)
        remove(manager, session_id, file_id)

    Manager.add_file, Manager.remove_file = add_file, remove_file
    return copies


def child(app: str, results: str, photos: str, count: int) -> None:
    """Open the page in `app`, drop `count` photos, rerun, move the sliders; print the figures as JSON."""
    os.environ["GLR_RESULTS"] = results
    os.chdir(app)
    sys.path.insert(0, app)
    from streamlit.testing.v1 import AppTest

    data = Path(photos).read_bytes()
    files = [(f"photo_{i:04d}.jpg", data + i.to_bytes(4, "big"), "image/jpeg") for i in range(count)]  # distinct, same pixels
    harness = sum(len(d) for _, d, _ in files)
    released: set = set()
    copies = like_a_server(released)
    at = AppTest.from_file(str(Path(app) / "app.py"), default_timeout=3600)
    at.run()
    at.switch_page(PAGE).run()
    gc.collect()
    figures = {"rss_open_gb": common.current_rss_gb()}
    box = at.file_uploader(key=KEY).set_value(files)
    records = box._files  # what the browser lists in the box: sent again with every rerun (as LikeAServer does)

    def run(element=None):
        for uploader in at.file_uploader:
            uploader._files = list(records)
        return (element or at).run()

    start = time.perf_counter()
    run()
    figures["drop_s"] = time.perf_counter() - start
    assert not at.exception, [e.value for e in at.exception]
    shown = [c.value for c in at.caption if "predicted" in c.value]
    for name, action in (("rerun_s", lambda: run()),
                         ("rerun2_s", lambda: run()),
                         ("top_k_s", lambda: run(at.slider(key="predict_k").set_value(3))),
                         ("similar_s", lambda: run(at.slider(key="predict_similar").set_value(2)))):
        start = time.perf_counter()
        action()
        figures[name] = time.perf_counter() - start
        assert not at.exception, [e.value for e in at.exception]
    shown += [c.value for c in at.caption if "predicted" in c.value]  # still all of them, after the sliders
    gc.collect()
    figures.update(held_mb=sum(len(c) for c in copies.values()) / 2**20, released=len(released),
                   rss_gb=common.current_rss_gb(), harness_gb=harness / 2**30, peak_gb=common.peak_rss_gb(),
                   shown=shown)
    figures["rss_net_gb"] = figures["rss_gb"] - figures["harness_gb"]
    # The harness's list of photos is held from before the page opens to the end: under the peak all along.
    figures["peak_net_gb"] = figures["peak_gb"] - figures["harness_gb"]
    print(json.dumps(figures))
    print(f"peak {figures['peak_gb']}")  # run_child reads the last line


def export(rev: str, out: Path) -> Path:
    """The app as it was at git `rev`, in `out`."""
    archive = subprocess.run(["git", "archive", rev, "app.py", "app_common.py", "app_upload.py", "pages", "glr",
                              ".streamlit"], cwd=common.ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(out, filter="data")
    return out


def setup(folder: Path, tiny: bool) -> tuple[Path, Path]:
    """A results folder with one finished tiny run, and the photo file."""
    sys.path.insert(0, str(common.ROOT / "tests"))
    from conftest import make_gldv2, tiny_config  # the tests' tiny dataset and training settings
    from glr.training.launch import new_run
    from glr.training.trainer import train_run

    data = make_gldv2(folder / "data", {3: 6, 5: 6, 9: 6}, {3: "Red_Fort", 5: "Blue_Mosque", 9: "Golden_Gate"})
    results = folder / "results"
    train_run(new_run(results, tiny_config(data)))
    image = folder / "photo.jpg"
    image.write_bytes(photo(320, 240) if tiny else photo(4000, 3000))
    return results, image


def main(argv=None) -> dict:
    """Run the benchmark; returns the figures of each app measured."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=100)
    p.add_argument("--before", help="also measure the page at this git revision (or exported in this folder)")
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], args.child[2], int(args.child[3]))
        return {}
    count = 3 if args.tiny else args.photos
    common.header(f"The Predict page with {count} big uploads")
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        results, image = setup(Path(tmp), args.tiny)
        apps = {"this code": str(common.ROOT)}
        if args.before:
            before = Path(args.before)  # a folder the app was exported to, or a git revision
            apps[args.before] = str(before if before.is_dir() else export(args.before, Path(tmp) / "before"))
        print(f"{count} photos of {image.stat().st_size / 2**20:.1f} MB; load {os.getloadavg()[0]:.1f}")
        for label, app in apps.items():
            out, _ = common.run_child([__file__, "--child", app, str(results), str(image), str(count)])
            found[label] = figures = json.loads(out.strip().splitlines()[-1])
            print(f"{label}: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                             for k, v in figures.items()))
    common.summary("; ".join(f"{label}: held {f['held_mb']:.0f} MB, RSS net of the harness {f['rss_net_gb']:.2f} GB, "
                             f"peak net of the harness {f['peak_net_gb']:.2f} GB, drop {f['drop_s']:.1f} s, "
                             f"rerun {f['rerun_s']:.2f} s, top-k {f['top_k_s']:.2f} s"
                             for label, f in found.items()))
    return found


if __name__ == "__main__":
    main()
