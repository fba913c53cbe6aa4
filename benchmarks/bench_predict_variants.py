"""What a 3-photo upload on the Predict page costs one browser, for several versions of the app side by side.

Serves each APP folder (a copy of the app, for example with pages/4_predict.py patched to draw a result
differently) with `streamlit run app.py`, as bench_app_load.py does, and for each round opens Predict
in a new headless Chromium context per app, drops 3 photos no earlier round used, and reads the page's
main-thread time over the upload from Chrome's Performance.getMetrics (all its tasks, and the
JavaScript among them), and the CPU of the browser's processes (Chromium and Playwright). The apps
take turns in every round, so they see the same load; it prints the median per app.

    .venv/bin/python benchmarks/bench_predict_variants.py --results RESULTS --photos FOLDER APP [APP ...]

RESULTS is a results folder with a finished run; FOLDER holds the photos (searched recursively).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_app_load as load  # noqa: E402
import common  # noqa: E402

PER_UPLOAD = 3


async def one_upload(browser, server: load.Server, photos: list[str]) -> dict:
    """Open Predict in a new context, upload `photos`; the main thread's and the browser's seconds over the upload."""
    context, page, _ = await load.open_predict(browser, server.url)
    cdp = await context.new_cdp_session(page)
    await cdp.send("Performance.enable")
    before, cpu = await load.main_thread(cdp), load.browser_cpu([server])
    took = await load.upload(page, photos)
    after = await load.main_thread(cdp)
    browser_cpu = sum(t - cpu.get(pid, 0.0) for pid, t in load.browser_cpu([server]).items())
    await context.close()
    task, script = (after[name] - before[name] for name in load.MAIN_THREAD)
    return {"task": task, "script": script, "browser": browser_cpu, "lost": took is None}


async def bench(apps: list[Path], results: Path, photos: list[str], rounds: int, logs: Path) -> dict:
    from playwright.async_api import async_playwright

    figures: dict[str, list[dict]] = {str(app): [] for app in apps}
    servers = {str(app): load.Server(app, results, logs / f"{i}.log") for i, app in enumerate(apps)}
    with load.serving(servers):
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=load.CHROMIUM, args=load.CHROMIUM_ARGS)
            for server in servers.values():  # the first visitor loads the model: not counted
                await one_upload(browser, server, photos[:PER_UPLOAD])
            for r in range(rounds):
                chosen = photos[(r + 1) * PER_UPLOAD:][:PER_UPLOAD]
                for label, server in servers.items():
                    figures[label].append(await one_upload(browser, server, chosen))
            await browser.close()
    return figures


def main(argv=None) -> None:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("apps", nargs="+", type=Path, help="folders holding a version of the app (app.py, pages/, glr/)")
    load.add_app_arguments(p)
    p.add_argument("--rounds", type=int, default=6, help="uploads per app (default 6; tiny 1)")
    args = p.parse_args(argv)
    rounds = 1 if args.tiny else args.rounds
    photos = load.photo_files(args.photos)
    if len(photos) < (rounds + 1) * PER_UPLOAD:
        raise SystemExit(f"{args.photos}: {len(photos)} photos, {(rounds + 1) * PER_UPLOAD} needed")
    common.header(f"one browser's cost of a {PER_UPLOAD}-photo upload on Predict, {rounds} rounds per app")
    with tempfile.TemporaryDirectory(prefix="glr-bench-variants-") as tmp:
        figures = asyncio.run(bench(args.apps, args.results, photos, rounds, Path(tmp)))
    print(f"{'app':<40} | main-thread tasks | JavaScript | browser CPU | lost  (medians per upload)")
    parts = []
    for label, rows in figures.items():
        task, script, cpu = (statistics.median(r[k] for r in rows) for k in ("task", "script", "browser"))
        lost = sum(r["lost"] for r in rows)
        print(f"{label[-40:]:<40} | {task:15.3f} s | {script:8.3f} s | {cpu:9.3f} s | {lost}")
        parts.append(f"{Path(label).name}: {task:.3f} s main thread, {cpu:.3f} CPU-s, {lost} lost")
    common.summary("; ".join(parts) + f" [load {os.getloadavg()[0]:.1f}]")


if __name__ == "__main__":
    main()
