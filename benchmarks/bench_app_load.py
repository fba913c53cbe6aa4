"""The app under load: N browser users at once open the Predict page, then each drops 3 photos.

Starts `streamlit run app.py` on a loopback port (one server per app version, each in its own
process) and drives N sessions (separate contexts of one headless Chromium, as
tests/test_browser.py launches it) that open /predict together, then upload their photos
together. For each N it prints, per app version:

- opening Predict: from `page.goto` to the page idle with its upload box (p50, p95);
- upload -> results: from the upload to "N of N photos predicted" with the page idle (p50, p95);
- the server's CPU seconds per 3-photo request (its user + system time during the uploads / N);
- the browser's CPU seconds per request (Chromium and Playwright, which share the machine's cores
  with the server: at 8 users they, not the server, set the wall time), and of it the page's main
  thread (Chrome's Performance.getMetrics: all its tasks, and the JavaScript among them; wall times,
  which grow with the load: compare the apps within one round);
- the server's peak RSS, and any session whose upload never showed results (a lost upload).

Every user gets photos no other user had in that process, so no cache of earlier photos helps.
`--before REF` also runs the app as it was at git REF (exported with `git archive` into a temp
folder), its server side by side with this checkout's and the rounds interleaved, so both see
the same load. The load average is printed with the figures: this machine is shared.

    .venv/bin/python benchmarks/bench_app_load.py --results RESULTS --photos FOLDER [--before REF]
    .venv/bin/python benchmarks/bench_app_load.py --tiny --results RESULTS --photos FOLDER  (1 and 2 users, 1 photo)

RESULTS is a results folder (GLR_RESULTS) with a finished run; FOLDER holds the photos (searched recursively).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
READY = "Drop photos here"  # the upload box's label: the page has loaded its model
TIMEOUT_S = 120.0  # an upload that shows no results by then is counted lost
GOALS = "1 user: upload -> results <= 1.5 s, opening Predict <= 3 s; 8 users: p95 <= 3x 1 user; CPU <= 0.3 s/request"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def export_ref(ref: str, into: Path) -> Path:
    """The app as it was at git `ref`, written to `into` with `git archive`."""
    data = subprocess.run(["git", "archive", ref], cwd=common.ROOT, check=True, capture_output=True).stdout
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=__import__("io").BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


class Server:
    """`streamlit run app.py` from `root` (its cwd, so .streamlit/config.toml applies) on a free port."""

    def __init__(self, root: Path, results: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "GLR_RESULTS": str(results), "GLR_DATA": ""}
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(self.port), "--browser.gatherUsageStats", "false"]
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.ps = psutil.Process(self.proc.pid)
        self.peak_rss = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}: {log.read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        return
            time.sleep(0.3)
        raise RuntimeError(f"streamlit did not start: {log.read_text()[-2000:]}")

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            with contextlib.suppress(psutil.Error):
                self.peak_rss = max(self.peak_rss, self.ps.memory_info().rss)

    def cpu(self) -> float:
        """The server's CPU seconds so far (user + system, its threads included)."""
        t = self.ps.cpu_times()
        return t.user + t.system

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


async def open_predict(browser, url: str):
    """A new user: (context, page, seconds until the Predict page is idle with its upload box)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    start = time.perf_counter()
    await page.goto(f"{url}/predict")
    await page.get_by_text(READY).first.wait_for(timeout=TIMEOUT_S * 1000)
    await page.locator(IDLE).wait_for(timeout=TIMEOUT_S * 1000)
    return context, page, time.perf_counter() - start


async def upload(page, photos: list[str]) -> float | None:
    """Seconds from dropping `photos` to their results on the idle page; None if they never show (lost)."""
    start = time.perf_counter()
    await page.locator('input[type="file"]').set_input_files(photos)
    try:
        # "N of N photos predicted"; a --before ref older than 3 December says "photo(s)".
        await page.get_by_text(re.compile(rf"{len(photos)} of {len(photos)} photo(s|\(s\))? predicted")).first.wait_for(
            timeout=TIMEOUT_S * 1000)
        await page.locator(IDLE).wait_for(timeout=TIMEOUT_S * 1000)
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError: the upload was lost
        return None
    return time.perf_counter() - start


def browser_cpu(servers: list[Server]) -> dict[int, float]:
    """CPU seconds so far of each process this benchmark started other than the servers (Chromium, Playwright)."""
    skip = {s.proc.pid for s in servers}
    skip |= {c.pid for s in servers for c in s.ps.children(recursive=True)}
    out = {}
    for child in psutil.Process().children(recursive=True):
        if child.pid not in skip:
            with contextlib.suppress(psutil.Error):
                t = child.cpu_times()
                out[child.pid] = t.user + t.system
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank, as a small sample allows)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


MAIN_THREAD = ("TaskDuration", "ScriptDuration")  # Chrome's seconds of main-thread tasks, and of JavaScript


async def main_thread(cdp) -> dict[str, float]:
    """The page's main-thread seconds so far (Performance.getMetrics)."""
    metrics = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
    return {name: metrics.get(name, 0.0) for name in MAIN_THREAD}


async def round_of(browser, server: Server, users: int, photo_sets: list[list[str]]) -> dict:
    """N users open Predict together, then upload together; their figures."""
    opened = await asyncio.gather(*(open_predict(browser, server.url) for _ in range(users)))
    cdps = [await context.new_cdp_session(page) for context, page, _ in opened]
    for cdp in cdps:
        await cdp.send("Performance.enable")
    threads = [await main_thread(cdp) for cdp in cdps]
    cpu, browser = server.cpu(), browser_cpu([server])
    took = await asyncio.gather(*(upload(page, photos) for (_, page, _), photos in zip(opened, photo_sets)))
    cpu = server.cpu() - cpu
    browser = sum(t - browser.get(pid, 0.0) for pid, t in browser_cpu([server]).items())
    ends = [await main_thread(cdp) for cdp in cdps]
    task, script = (sum(e[name] - t[name] for t, e in zip(threads, ends)) / users for name in MAIN_THREAD)
    errors = 0
    for context, page, _ in opened:
        errors += await page.locator('[data-testid="stException"]').count()
        await context.close()
    done = [t for t in took if t is not None]
    return {"open": [o for _, _, o in opened], "upload": done, "lost": len(took) - len(done), "errors": errors,
            "cpu": cpu / users, "browser": browser / users, "task": task, "script": script, "rss": server.peak_rss}


def line(label: str, users: int, r: dict) -> str:
    up = r["upload"] or [float("nan")]
    return (f"{label:>7} {users:>5} | {statistics.median(up):6.2f} / {percentile(up, 95):6.2f} s | "
            f"{statistics.median(r['open']):6.2f} / {percentile(r['open'], 95):6.2f} s | {r['cpu']:6.2f} s | "
            f"{r['browser']:6.2f} s | {r['task']:5.2f} / {r['script']:5.2f} s | {r['rss'] / 2**30:5.2f} GB | "
            f"{r['lost']} lost, {r['errors']} errors")


@contextlib.contextmanager
def serving(servers: dict) -> "contextlib.AbstractContextManager[dict]":
    """`with serving({label: Server(...)}) as servers:` ... every server is stopped on the way out."""
    try:
        yield servers
    finally:
        for server in servers.values():
            server.close()


def add_app_arguments(p) -> None:
    """The arguments every app benchmark takes: the results folder it serves and the photos it uploads."""
    p.add_argument("--results", required=True, type=Path, help="a results folder (GLR_RESULTS) with a finished run")
    p.add_argument("--photos", required=True, type=Path, help="a folder of photos to upload (searched recursively)")


def photo_files(folder: Path) -> list[str]:
    """The JPEG and PNG files under `folder`, sorted."""
    return sorted(str(f) for f in folder.rglob("*") if f.suffix.lower() in (".jpg", ".jpeg", ".png"))


async def bench(apps: dict[str, Path], results: Path, photos: list[str], users: list[int], per_user: int,
                logs: Path, tiny: bool = False) -> dict:
    from playwright.async_api import async_playwright

    figures: dict[str, dict[int, dict]] = {label: {} for label in apps}
    with serving({label: Server(root, results, logs / f"{label}.log") for label, root in apps.items()}) as servers:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # The first visitor of a fresh server loads the model: timed apart, with a first upload
            # (not in tiny mode, a smoke test: there the first round's first user loads it).
            warm = photos[:per_user]
            for label, server in servers.items() if not tiny else ():
                context, page, seconds = await open_predict(browser, server.url)
                first = await upload(page, warm)
                await context.close()
                print(f"{label}: first visit of a fresh server: opening Predict {seconds:.2f} s, "
                      f"first upload {first if first is None else round(first, 2)} s", flush=True)
            print(f"\n{'app':>7} {'users':>5} | upload->results p50 / p95 | opening Predict p50 / p95 | "
                  f"CPU/request | browser CPU/request | main thread / JS per request | peak RSS | lost", flush=True)
            offset = per_user
            for n in users:
                sets = [photos[(offset + i * per_user) % len(photos):][:per_user] for i in range(n)]
                offset += n * per_user
                for label, server in servers.items():  # interleaved: both apps see the same load
                    figures[label][n] = await round_of(browser, server, n, sets)
                    print(line(label, n, figures[label][n]) + f"  [load {os.getloadavg()[0]:.2f}]", flush=True)
            await browser.close()
    return figures


def main(argv=None) -> None:
    p = common.parser(__doc__.splitlines()[0])
    add_app_arguments(p)
    p.add_argument("--users", default=None, help="comma-separated numbers of users (default 1,4,8; tiny 1,2)")
    p.add_argument("--per-user", type=int, default=None, help="photos each user drops (default 3; tiny 1)")
    p.add_argument("--before", metavar="REF", help="also run the app as it was at this git ref, side by side")
    args = p.parse_args(argv)
    users = [int(u) for u in (args.users or ("1,2" if args.tiny else "1,4,8")).split(",")]
    per_user = args.per_user or (1 if args.tiny else 3)
    photos = photo_files(args.photos)
    if not photos:
        raise SystemExit(f"{args.photos}: no photos")
    common.header(f"the app under load: {users} users, {per_user} photo{'' if per_user == 1 else 's'} each")
    with tempfile.TemporaryDirectory(prefix="glr-bench-load-") as tmp:
        apps = {}
        if args.before:
            apps["before"] = export_ref(args.before, Path(tmp) / "before")
            print(f"before: git {args.before} exported to {apps['before']}")
        apps["after" if args.before else "app"] = common.ROOT
        figures = asyncio.run(bench(apps, args.results, photos, users, per_user, Path(tmp), tiny=args.tiny))
    one, most = users[0], users[-1]
    print(f"goals: {GOALS}")
    parts = []
    for label, by_n in figures.items():
        a, b = by_n[one], by_n[most]
        up1 = statistics.median(a["upload"]) if a["upload"] else float("nan")
        p95 = percentile(b["upload"], 95) if b["upload"] else float("nan")
        lost = sum(r["lost"] for r in by_n.values())
        parts.append(f"{label}: {one} user {up1:.2f} s upload, {statistics.median(a['open']):.2f} s open, "
                     f"{a['cpu']:.2f} CPU-s/request; {most} users p95 {p95:.2f} s = {p95 / up1:.1f}x; {lost} lost")
    if args.before:
        before, after = figures["before"][one], figures["after"][one]
        if before["upload"] and after["upload"]:
            parts.append(f"after/before at {one} user: upload {statistics.median(after['upload']) / statistics.median(before['upload']):.2f}x, "
                         f"CPU {after['cpu'] / before['cpu']:.2f}x")
    common.summary("; ".join(parts))


if __name__ == "__main__":
    main()
