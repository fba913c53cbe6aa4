"""`--workers N` on one machine: N local worker processes on loopback ports, one run folder.

Each worker is `python -m glr train --run-dir RUN` with its own `TF_CONFIG` (the same
cluster of free 127.0.0.1 ports, its own task index) and its share of the CPU threads,
exactly as a scheduler would start them on N machines; worker 0, the chief, writes the run
folder (glr.training.cluster). This process holds the results folder's training lock (the
chief adopts it) and watches the workers: when one ends badly, the others get
GRACE_SECONDS to notice through their collectives and stop, then they are killed, and the
run ends `failed` with a message naming the worker, so `--resume` can continue it with
any number of workers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack

from glr.paths import PROJECT_ROOT
from glr.training.cluster import TF_CONFIG, THREADS_ENV
from glr.training.launch import training_lock
from glr.training.run import Run
from glr.training.status import ACTIVE_STATES, now

MAX_WORKERS = 16
# Set for the workers `--workers N` starts: the launcher prints the run's outcome, once, not its chief too.
LOCAL_WORKER_ENV = "GLR_LOCAL_WORKER"
GRACE_SECONDS = float(os.environ.get("GLR_WORKER_GRACE", "60"))  # > the coordination heartbeat (cluster.py)
POLL_SECONDS = 0.2


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports (held open together, so they differ).

    Free on every interface, not only 127.0.0.1: TensorFlow's server listens on 0.0.0.0, and
    fails on a port another program holds on any address.
    """
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("", 0))
        return [s.getsockname()[1] for s in sockets]


def worker_env(ports: list[int], index: int, threads: int, base: dict | None = None) -> dict:
    """The environment of local worker `index`: its TF_CONFIG, its thread share, glr importable."""
    env = dict(os.environ if base is None else base, PYTHONUNBUFFERED="1")
    env[TF_CONFIG] = json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                 "task": {"type": "worker", "index": index}})
    env[THREADS_ENV] = str(threads)
    env[LOCAL_WORKER_ENV] = "1"
    env["OMP_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def _how(code: int) -> str:
    return f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"


def _watch(procs: list[subprocess.Popen]) -> tuple[int, int] | None:
    """Wait for every worker; after the first bad exit, kill the rest past GRACE_SECONDS. (index, code) of that exit."""
    first, deadline = None, None
    while any([p.poll() is None for p in procs]):  # a list: poll every worker, not up to the first alive
        if first is None:
            first = next(((i, p.returncode) for i, p in enumerate(procs) if p.returncode not in (None, 0)), None)
            deadline = time.monotonic() + GRACE_SECONDS if first else None
        elif time.monotonic() > deadline:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        time.sleep(POLL_SECONDS)
    if first is None:
        first = next(((i, p.returncode) for i, p in enumerate(procs) if p.returncode != 0), None)
    return first


def train_local(run: Run, workers: int, resume: bool = False) -> dict:
    """Train `run` with `workers` local processes; returns its metrics when it finished, else {}."""
    if not 1 <= workers <= MAX_WORKERS:
        from glr.errors import GlrError

        raise GlrError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers}")
    ports = free_ports(workers)
    threads = max(1, (os.cpu_count() or 1) // workers)
    argv = [sys.executable, "-m", "glr", "train", "--run-dir", str(run.path)] + (["--resume"] if resume else [])
    with training_lock(run.results_dir, run.id):
        run.update_status(state="running", pid=os.getpid(), workers=workers, finished=None, traceback=None,
                          message=f"starting {workers} workers on 127.0.0.1:{','.join(map(str, ports))}")
        procs = []
        try:
            for i in range(workers):
                procs.append(subprocess.Popen(argv, env=worker_env(ports, i, threads), stdin=subprocess.DEVNULL))
            run.update_status(worker_pids=[p.pid for p in procs])
            bad = _watch(procs)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    status = run.status()
    if bad is not None:
        index, code = bad
        said = status.get("message") if status["state"] == "failed" else None
        run.update_status(state="failed", finished=now(), message=f"worker {index} {_how(code)}; "
                          + (said or "the others were stopped") + ("" if said and "--resume" in said else
                                                                   "; --resume continues from the last checkpoint"))
    elif status["state"] in ACTIVE_STATES:
        run.update_status(state="failed", finished=now(), message="the workers ended without finishing the run")
    return (run.metrics() or {}) if run.status()["state"] == "finished" else {}
