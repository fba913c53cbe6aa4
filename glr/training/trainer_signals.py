"""The trainer's signals: SIGTERM, a closed terminal (SIGHUP) and the first Ctrl-C become a stop request.

A stop request ends the run after the current batch as `stopped`, with a checkpoint that
`--resume` continues from; a second Ctrl-C quits at once. A signal the shell set to be ignored
(`nohup`, a background job's Ctrl-C) stays ignored.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from glr.training.run import Run

HANGUP = getattr(signal, "SIGHUP", None)  # Windows has none
LOCAL_WORKER_ENV = "GLR_LOCAL_WORKER"  # set for the workers `--workers N` starts (glr.training.workers)


def say(text: str, stdout: bool = False) -> None:
    """Print `text` on stderr (stdout if asked); nothing if it cannot be written (closed, a hung-up terminal, /dev/full).

    What is said here is in the run's status too, and a failed write in a signal handler would
    raise wherever the trainer is, ending a clean stop as a crash.
    """
    out = sys.stdout if stdout else sys.stderr
    if out is None:  # started with it closed: print() would write to stdout instead
        return
    try:
        print(text, file=out, flush=True)
    except (OSError, ValueError):
        pass


def install_sigterm_handler(run: "Run") -> None:
    """For the trainer (main thread): turn SIGTERM into a stop request, so it ends after the batch with a checkpoint."""
    signal.signal(signal.SIGTERM, lambda signum, frame: run.request_stop())


def terminal_fds() -> list[int]:
    """Our stdout and stderr, those that are a terminal now (a hung-up one no longer says it is one)."""
    found = []
    for fd in (1, 2):
        try:
            if os.isatty(fd):
                found.append(fd)
        except OSError:
            pass
    return found


def leave_terminal(fds: list[int]) -> None:
    """Point `fds` (a terminal that was closed) at the null device.

    Every write to a hung-up terminal fails (EIO): a progress line or the last "stopped:" would
    end the run `failed` at the very moment it stops cleanly. Output sent to a file is left alone.
    """
    if not fds:
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in fds:
            os.dup2(null, fd)
    finally:
        os.close(null)


def on_hangup(stop, even_if_ignored: bool = False) -> bool:
    """Handle SIGHUP (the terminal closed) with `stop()` once our terminal output is sent nowhere; False if it is ignored.

    Main thread only, as every signal handler.
    """
    if HANGUP is None or (signal.getsignal(HANGUP) is signal.SIG_IGN and not even_if_ignored):  # nohup: train on
        return False
    fds = terminal_fds()

    def hung_up(signum, frame):
        leave_terminal(fds)
        stop()

    signal.signal(HANGUP, hung_up)
    return True


@contextmanager
def stop_on_signals(run: "Run") -> Iterator[None]:
    """For the trainer (main thread): SIGTERM, SIGHUP and the first Ctrl-C become a stop request, so the run ends
    after the batch as `stopped`, with a checkpoint to resume from; a second Ctrl-C quits at once.

    A Ctrl-C used to raise KeyboardInterrupt wherever it landed, and closing the terminal killed
    the trainer: either way the run ended `failed`. SIGTERM's, SIGINT's and SIGHUP's handlers are put back on
    leaving, so a process that trained in-process (a notebook, a test) can be terminated again.
    """
    previous_term = signal.getsignal(signal.SIGTERM)
    install_sigterm_handler(run)
    previous_hup = signal.getsignal(HANGUP) if HANGUP else None
    if not on_hangup(run.request_stop) and os.environ.get(LOCAL_WORKER_ENV):
        # The chief of `--workers N`, which may share our terminal: its launcher hears SIGHUP and asks the stop.
        on_hangup(lambda: None, even_if_ignored=True)
    try:
        with _ctrl_c(run):
            yield
    finally:
        if HANGUP and previous_hup is not None:
            signal.signal(HANGUP, previous_hup)
        if previous_term is not None:  # None: set outside Python, which cannot be put back
            signal.signal(signal.SIGTERM, previous_term)


@contextmanager
def _ctrl_c(run: "Run") -> Iterator[None]:
    """The first Ctrl-C a stop request, the second KeyboardInterrupt; unless SIGINT is ignored or someone else's."""
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:  # ignored (a background job) or someone else's: leave it
        yield
        return
    asked = []

    def on_ctrl_c(signum, frame):
        if asked:
            raise KeyboardInterrupt("Ctrl-C twice: quit at once; --resume continues from the last checkpoint")
        asked.append(signum)
        run.request_stop()
        say(f"\nstopping after this batch (Ctrl-C again to quit at once); python -m glr train --resume {run.id} continues")

    signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
