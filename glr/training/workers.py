"""`--workers N` on one machine: N local worker processes on loopback ports, one run folder.

Each worker is `python -m glr train --run-dir RUN` with its own `TF_CONFIG` (the same
cluster of free 127.0.0.1 ports, its own task index) and its share of the CPU threads,
exactly as a scheduler would start them on N machines; worker 0, the chief, writes the run
folder (glr.training.cluster). This process, the launcher, holds the results folder's
training lock (the chief adopts it) and watches the workers:

- Ctrl-C and a closed terminal's SIGHUP (the terminal sends them to every process of the
  group) and SIGTERM reach the launcher alone: the workers start with SIGINT and SIGHUP
  ignored. While the epochs train, the launcher raises the chief's stop flag, which travels in the next step's reduced sums, so
  every worker stops after the same batch and the run ends `stopped` with a checkpoint. The Train page's Stop
  and `glr stop` raise that flag without a signal: the launcher watches it and takes it as one.
  Before the epochs (starting, joining, extracting features) the workers are killed at once:
  every feature is already in the cache, written atomically, and a worker waiting in a
  collective (to join, or for the others' features) could not hear a stop anyway. A second
  Ctrl-C kills them at once whatever they do.
- A worker that ends badly before the epochs train (it could not start, import, listen or
  join) has the others killed at once: they would only wait for it. One that dies while
  epochs train gives the others GRACE_SECONDS to notice through their collectives and save
  a checkpoint, then they are killed. Either way the run ends `failed` with a message
  naming the worker and its reason (the last error line it printed), so `--resume` can
  continue it with any number of workers.
- A launcher that is killed outright (SIGKILL) takes its workers with it: each worker, first
  thing, asks the kernel to kill it when its launcher dies (Linux), and also watches that its
  launcher is still its parent (on Windows, which keeps a dead parent's pid, by its start time too).
- A resume refused before the epochs (a worker's `error: ...`) leaves the run as it was
  (glr.training.resuming): a stopped run stays stopped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager

from glr.paths import PROJECT_ROOT
from glr.training.cluster import TF_CONFIG, THREADS_ENV, drop_orphaned_worker_runs
from glr.training.launch import FINISHING, training_lock
from glr.training.machine import same_pid_space
from glr.training.processes import boot_time, exit_quickly, launcher_env, process_start, process_started_at
from glr.training.progress import PHASES
from glr.training.resuming import refused, restore, snapshot
from glr.training.run import Run
from glr.training.status import ACTIVE_STATES, now
from glr.training.trainer_signals import HANGUP, LOCAL_WORKER_ENV, leave_terminal, say, terminal_fds

MAX_WORKERS = 16
# LOCAL_WORKER_ENV is set for the workers `--workers N` starts: the launcher prints the run's outcome, once, not its
# chief too.
GRACE_SECONDS = float(os.environ.get("GLR_WORKER_GRACE", "60"))  # > the coordination heartbeat (cluster.py)
POLL_SECONDS = 0.2
STOP_FLAG = "the stop flag"  # how a stop asked by the flag alone (the Train page, `glr stop`) is named
WORKER_ARGV = [sys.executable, "-m", "glr", "train"]  # what each worker runs (tests swap in a stand-in)
TAIL_BYTES = 8192  # how much of a worker's last output is kept to find its reason
# TensorFlow's and absl's log lines: never a worker's reason, though they come after it.
LOG_LINE = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages|\s)")
ERROR_LINE = re.compile(r"^(error: |[\w.]*(Error|Exception|Interrupt|Exit)\b)")


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
    env.update(launcher_env())  # the worker ends itself when we die (glr.training.processes.exit_with_parent)
    env["OMP_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def _how(code: int) -> str:
    return f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"


def last_error(text: str) -> str | None:
    """The reason a worker gave for failing: its last error line (glr's `error: ...`, a Python exception), else None.

    TensorFlow's log lines that follow it at exit are passed over.
    """
    lines = [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip() and not LOG_LINE.match(line)]
    found = next((line for line in reversed(lines) if ERROR_LINE.match(line)), None)
    return found.removeprefix("error: ")[:400] if found else None


class Worker:
    """One local worker process, its stderr copied to ours as it comes, the end of it kept for its reason."""

    _write_lock = threading.Lock()  # one worker's chunk at a time on our stderr

    def __init__(self, argv: list[str], env: dict, terminal: bool = False):
        # terminal: give it our terminal itself (the chief's progress bar needs one), its reason then
        # only in its recorded status.
        # No preexec_fn: code between fork and exec can deadlock in a process with threads. The
        # worker asks the kernel itself to end it with us, first thing (exit_with_parent).
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stderr=None if terminal else subprocess.PIPE)
        self.tail, self.muted = b"", False
        self._copier = threading.Thread(target=self._copy, daemon=True)
        if not terminal:
            self._copier.start()

    def _copy(self) -> None:
        out = getattr(sys.stderr, "buffer", None)
        while chunk := self.proc.stderr.read1(65536):
            self.tail = (self.tail + chunk)[-TAIL_BYTES:]
            if self.muted:
                continue
            with self._write_lock:
                try:
                    out.write(chunk) if out else sys.stderr.write(chunk.decode(errors="replace"))
                    sys.stderr.flush()
                except (OSError, ValueError, AttributeError):  # AttributeError: started with stderr closed (None)
                    pass  # our stderr is gone (a closed terminal, /dev/full): keep reading, so the worker never blocks

    def reason(self) -> str | None:
        """Its last error line, once its output has ended."""
        if self._copier.is_alive():
            self._copier.join(timeout=5)
        return last_error(self.tail.decode(errors="replace"))

    def kill(self) -> None:
        """SIGKILL it (if still running) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def kill_all(workers: list[Worker]) -> None:
    """Kill every worker, muted first: what one prints as the other dies (a peer "reset by peer") is no news."""
    for w in workers:
        w.muted = True
    for w in workers:
        if w.proc.poll() is None:
            w.proc.kill()
    for w in workers:
        w.kill()


def _on_terminal() -> bool:
    """Whether our stderr is a terminal (not when closed, or None: started with it closed)."""
    try:
        return bool(sys.stderr and sys.stderr.isatty())
    except (OSError, ValueError):
        return False


class Signals:
    """The launcher's SIGINT, SIGTERM and SIGHUP while its workers train: the first asks them all to stop, a second
    Ctrl-C quits."""

    def __init__(self, run: Run):
        self.run, self.workers = run, []
        self.stop, self.quit = None, False  # the signal that asked for the stop; Ctrl-C twice

    def _on(self, signum, frame) -> None:
        if self.stop not in (None, STOP_FLAG) and signum == signal.SIGINT:  # a Stop clicked is no first Ctrl-C
            self.quit = True
            return
        first, self.stop = self.stop in (None, STOP_FLAG), signal.Signals(signum).name
        self.run.request_stop()  # the chief's flag: every worker hears it in the next step's sums
        if first:
            say(f"\nstopping the workers (Ctrl-C again to quit at once); "
                f"python -m glr train --resume {self.run.id} continues")

    @contextmanager
    def start(self, argvs_envs):
        """Start the workers with SIGINT ignored (inherited through exec) and our handlers on; put them back after."""
        terminal = _on_terminal()
        if threading.current_thread() is not threading.main_thread():  # signals are the main thread's
            for i, (argv, env) in enumerate(argvs_envs):  # one by one: a failed start leaves the others listed, to kill
                self.workers.append(Worker(argv, env, terminal and i == 0))
            yield self.workers
            return
        hangup = HANGUP is not None and signal.getsignal(HANGUP) is not signal.SIG_IGN  # nohup: left ignored
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, *([HANGUP] if hangup else []))}
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if hangup:
            signal.signal(HANGUP, signal.SIG_IGN)
        fds = terminal_fds()
        try:
            for i, (argv, env) in enumerate(argvs_envs):
                self.workers.append(Worker(argv, env, terminal and i == 0))
            for s in previous:
                signal.signal(s, self._on)
            if hangup:  # the terminal is gone: our output with it, then a stop as for SIGTERM
                signal.signal(HANGUP, lambda signum, frame: (leave_terminal(fds), self._on(signum, frame)))
            yield self.workers
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def _training(run: Run) -> bool:
    """Whether the chief has reached the epochs, or passed them (it may have something to save if a worker dies now)."""
    return (run.recorded_status() or {}).get("phase") in {*PHASES.values(), *FINISHING, "done"}


def _watch(workers: list[Worker], run: Run, signals: Signals) -> tuple[tuple[int, int] | None, bool]:
    """Wait for every worker, killing them all when waiting is pointless.

    ((index, code) of the first bad exit, whether the chief reached the epochs).
    """
    procs = [w.proc for w in workers]
    first, deadline, trained = None, None, False  # trained: the chief has reached the epochs
    while any([p.poll() is None for p in procs]):  # a list: poll every worker, not up to the first alive
        trained = trained or _training(run)
        if signals.stop is None and run.stop_requested():
            # Before the epochs the chief alone hears its flag: it would stop, and leave the others in a
            # collective until their heartbeat fails them, the run then "failed". Taken as a signal here.
            signals.stop = STOP_FLAG
        if first is None:
            first = first_failure([p.returncode for p in procs])
            if first:
                # The grace lets the chief save what it can: none for the chief itself, dead (the others only wait
                # in a collective with it until their heartbeat fails them).
                deadline = time.monotonic() + (GRACE_SECONDS if trained and first[0] != 0 else 0)
        # Nothing more can come of them: past the grace; Ctrl-C twice; a stop before the epochs
        # (see the module's docstring); or a stopped run's chief has ended (a worker still in a
        # collective with it would only fail).
        if signals.quit or (signals.stop and (not trained or procs[0].returncode is not None)) \
                or (first and time.monotonic() > deadline):
            kill_all(workers)
        time.sleep(POLL_SECONDS)
    if first is None:
        first = first_failure([p.returncode for p in procs])
    return first, trained


def first_failure(codes: list[int | None]) -> tuple[int, int] | None:
    """(index, code) of the worker to blame among these exit codes (None: still running), or None if none failed.

    A worker killed by a signal, when there is one: its peers fail only because it is gone (gRPC reports the lost
    connection at once), and the chief's exit, seen in the same poll, was named instead of the kill.
    """
    failed = [(i, code) for i, code in enumerate(codes) if code not in (None, 0)]
    return min(failed, key=lambda failure: (failure[1] >= 0, failure[0]), default=None)


def _failure(run: Run, workers: list[Worker], index: int, code: int) -> str:
    """The message of a run that worker `index` ended with `code`: the worker, how it ended, its reason."""
    status = run.recorded_status() or {}
    if status.get("state") == "failed" and status.get("message") and status.get("message") == status.get("diverged"):
        return status["message"]  # the loss became NaN with no model to keep: it says what to do, not --resume
    # The chief's own account, if it wrote one; not "ended without saying so" for a chief we killed.
    said = status.get("message") if status.get("state") == "failed" else None
    reason = workers[index].reason() if code > 0 else None
    message = f"worker {index} {_how(code)}" + (f": {reason}; the others were stopped" if reason else
                                                f"; {said or 'the others were stopped'}")
    return message + ("" if "--resume" in message else "; --resume continues from the last checkpoint")


def train_local(run: Run, workers: int, resume: bool = False) -> dict:
    """Train `run` with `workers` local processes; returns its metrics when it finished, else {}."""
    if not 1 <= workers <= MAX_WORKERS:
        from glr.errors import GlrError

        raise GlrError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers}")
    ports = free_ports(workers)
    cores = os.cpu_count() or 1
    threads = max(1, cores // workers)
    if workers > cores:  # it works, but the user may expect a speed-up
        say(f"{workers} workers on {cores} CPU cores: they share the cores, one thread each, so this trains "
            "slower than one process; --workers N on one machine is the cluster mode in small")
    argv = [*WORKER_ARGV, "--run-dir", str(run.path)] + (["--resume"] if resume else [])
    signals = Signals(run)
    exit_quickly()  # once the workers are gone, we end at once too (glr.training.processes)
    with training_lock(run.results_dir, run.id):
        run.clear_stop_request()  # the flag of an earlier stop, which `glr train --resume` must not take as new
        before = snapshot(run) if resume else None  # put back if the resume is refused before the epochs
        # phase None: a resumed run's old phase must not count as "training" (_watch) before the chief says so.
        run.update_status(state="running", pid=os.getpid(), workers=workers, finished=None, traceback=None, phase=None,
                          launcher_pid=os.getpid(), launcher_start=process_start(os.getpid()), launcher_booted=boot_time(),
                          refused=None,
                          resumed_from=None, message=f"starting {workers} workers on 127.0.0.1:{','.join(map(str, ports))}")
        # The workers' temporary files, deleted with them: a worker killed (at a stop, once the chief is gone) left
        # TensorFlow's generated code files. Named so that drop_orphaned_worker_runs finds it if we are killed.
        scratch = tempfile.mkdtemp(prefix=f"glr-workers-{os.getpid()}-{process_started_at():.0f}-")
        try:
            envs = [dict(worker_env(ports, i, threads), TMPDIR=scratch, TEMP=scratch, TMP=scratch) for i in range(workers)]
            with signals.start([(argv, env) for env in envs]) as started:
                # With their start times: `glr stop --wait` kills every one of them, never a later process given a pid.
                run.update_status(worker_pids=[w.proc.pid for w in started],
                                  worker_starts=[process_start(w.proc.pid) for w in started], worker_booted=boot_time())
                bad, trained = _watch(started, run, signals)
        finally:
            kill_all(signals.workers)
            shutil.rmtree(scratch, ignore_errors=True)
            drop_orphaned_worker_runs()  # a worker killed (SIGKILL, the OOM killer) left its private copy
    if not same_pid_space(run.recorded_status() or {}):  # resumed on another computer while we were paused: its run
        return {}
    status = run.status()
    state = status["state"]
    if before and bad and bad[1] > 0 and not trained and not signals.stop:  # refused: by the chief, or a worker's error
        restore(run, before, status["refused"] if refused(status) else _failure(run, signals.workers, *bad))
    elif state == "finished":
        pass  # the chief wrote it whole: a late Ctrl-C, or a worker that failed after its part, changes nothing
    elif signals.quit:
        run.update_status(state="failed", message="Ctrl-C twice: quit at once; --resume continues from the last checkpoint")
    elif signals.stop:
        if state != "stopped":  # stopped on request, whatever a worker caught in the middle of it said
            run.update_status(state="stopped", message=f"stopped on request ({signals.stop}); --resume continues")
    elif bad is not None:
        run.update_status(state="failed", finished=now(), message=_failure(run, signals.workers, *bad))
    elif state in ACTIVE_STATES:
        run.update_status(state="failed", finished=now(), message="the workers ended without finishing the run")
    return (run.metrics() or {}) if run.status()["state"] == "finished" else {}
