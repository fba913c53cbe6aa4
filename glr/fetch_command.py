"""`python -m glr fetch`: its options checked, the fetch run with a progress bar, and its outcome printed.

The fetching itself is glr.data.fetch; this is only what the terminal needs around it:
options that make sense together, and what to say after Ctrl-C or SIGTERM (what was kept, how to go on).
Exit codes: 1 when every photo asked for failed (except when, beside photos on disk, only photos no asking again will
get are left: that dataset is as whole as it gets), else 0, as some failures are normal (GLDv2 has dead URLs); 2 for a bad command line
or dataset, or a full disk; 130 after Ctrl-C, 143 after SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

from glr.commands import PhotoProgress
from glr.errors import GlrError

INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)
TERMINATED = 143  # ... and by SIGTERM (128 + SIGTERM)
GOT_NOTHING = 1  # every photo asked for failed (2 is for a bad command line or input, as for every glr command)


@contextmanager
def sigterm_as_ctrl_c(received: list) -> Iterator[None]:
    """SIGTERM (`kill`, a container's stop) ends the fetch as Ctrl-C does: the downloads under way are given up,
    every photo kept is whole, and what was done is said. Its signal number goes to `received`; a second SIGTERM
    does not cut that clean ending short. Main thread only (where signals are taken); the old handler is put back."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        yield
        return

    def on_sigterm(signum, frame):
        if not received:
            received.append(signum)
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


DOWNLOAD_FLAGS = ("workers", "rate", "timeout", "deadline", "retries", "user_agent")  # None when not given


def download_options(args) -> dict:
    """The download options given on the command line, for `glr.data.downloads.download_all` (whose defaults
    fill in the rest); none for --from-shards, which ignores them and says so."""
    given = {name: getattr(args, name) for name in DOWNLOAD_FLAGS if getattr(args, name) is not None}
    if args.from_shards:
        if given:
            print(f"note: {', '.join('--' + k.replace('_', '-') for k in given)} set how photos are downloaded from URLs; "
                  "--from-shards reads the shards one after another and ignores them", file=sys.stderr)
        return {}
    if "deadline" in given:
        from glr.data.downloads import TIMEOUT

        timeout = given.get("timeout", TIMEOUT)
        if given["deadline"] < timeout:
            # The deadline is checked between two reads, each of which may wait --timeout: a shorter one cannot hold.
            raise GlrError(f"--deadline {given['deadline']:g} is shorter than --timeout {timeout:g}; "
                           f"give a --deadline of at least {timeout:g} s, or a shorter --timeout")
    return given


def say_above_the_bars(text: str) -> None:
    """Print a note while the progress bars run (from any thread), without cutting a bar in two."""
    from tqdm import tqdm

    tqdm.write(f"note: {text}", file=sys.stderr)


def cmd_fetch(args) -> int:
    """Get the curated photos of a GLDv2 release, from train.csv's URLs or its tar shards; print a summary."""
    from glr.data.fetch import FetchInterrupted, fetch

    options = download_options(args)
    if not args.from_shards:
        options["notice"] = say_above_the_bars
    progress, checking = PhotoProgress("fetching photos"), PhotoProgress("checking the photos on disk")

    def check(done: int, total: int) -> None:  # thousands of photos take a while to check: say so
        checking(done, total)
        if done == total:
            checking.close()
    interrupted, terminated = None, []
    try:
        with sigterm_as_ctrl_c(terminated):
            report = fetch(args.data, args.top_n, args.min_images, args.val_fraction, args.seed,
                           shards=args.from_shards, progress=progress, checking=check, **options)
    except FetchInterrupted as stop:
        interrupted = stop.report
    except KeyboardInterrupt:
        if not terminated:
            raise
        # While the dataset was read, or as fetch ended: either way every photo on disk is whole.
        print("stopped by SIGTERM; the photos on disk are whole: run the same command again to go on", file=sys.stderr)
        return TERMINATED
    finally:
        checking.close()
        progress.close()  # before printing, so the bars do not cut the lines
    if interrupted:
        print(interrupted.interrupted_summary("stopped by SIGTERM" if terminated else "interrupted"), file=sys.stderr)
        return TERMINATED if terminated else INTERRUPTED
    print(report.summary())
    if (problem := report.got_nothing()) is not None:  # a script running `glr fetch && glr train` must see it
        print(f"error: {problem}", file=sys.stderr)
        return GOT_NOTHING
    return 0
