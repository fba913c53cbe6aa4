"""glr.training.trainer_signals: a closed terminal (SIGHUP) stops the trainer cleanly, as SIGTERM and Ctrl-C do."""

import os
import pty
import signal
import time

import pytest

from glr.training.run import Run
from glr.training.trainer_signals import leave_terminal, stop_on_signals, terminal_fds

CONFIG = {"train": {"epochs": 4}}


def wait_until(predicate, timeout=1.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_sighup_asks_the_trainer_to_stop_and_its_handler_is_put_back(tmp_path):
    # Closing the terminal killed `python -m glr train`: the run ended "failed" (killed?), not "stopped".
    run = Run.create(tmp_path, CONFIG)
    previous_term, hups = signal.getsignal(signal.SIGTERM), []
    signal.signal(signal.SIGHUP, lambda signum, frame: hups.append(signum))  # so a missed SIGHUP cannot end pytest
    try:
        with stop_on_signals(run):
            os.kill(os.getpid(), signal.SIGHUP)
            wait_until(run.stop_requested)
        assert hups == []  # it was the trainer's
        os.kill(os.getpid(), signal.SIGHUP)
        wait_until(lambda: hups == [signal.SIGHUP])  # put back on leaving
        # SIGTERM's too: it stayed the ended run's stop request, and the process could no longer be terminated.
        assert signal.getsignal(signal.SIGTERM) is previous_term
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, previous_term)


@pytest.mark.parametrize("signum, put_back", [(signal.SIGINT, signal.default_int_handler), (signal.SIGHUP, signal.SIG_DFL)],
                         ids=["ctrl-c-of-a-background-job", "sighup-under-nohup"])
def test_a_signal_the_shell_ignores_stays_ignored(tmp_path, signum, put_back):
    # A trainer started in the background (`... &`) inherits SIGINT ignored, one under `nohup` SIGHUP: both must stay so.
    run = Run.create(tmp_path, CONFIG)
    signal.signal(signum, signal.SIG_IGN)
    try:
        with stop_on_signals(run):
            assert signal.getsignal(signum) is signal.SIG_IGN
            os.kill(os.getpid(), signum)
            time.sleep(0.05)
            assert not run.stop_requested()
    finally:
        signal.signal(signum, put_back)


def test_a_closed_terminals_output_goes_nowhere_instead_of_failing():
    # Every write to a hung-up terminal fails (EIO): the trainer's last lines ended the run "failed".
    master, slave = pty.openpty()
    try:
        assert os.isatty(slave)
        leave_terminal([slave])
        assert not os.isatty(slave)
        os.close(master)  # the terminal is gone
        assert os.write(slave, b"stopped: stopped on request\n") == 28
    finally:
        os.close(slave)


def test_only_the_outputs_on_a_terminal_are_listed():
    import subprocess
    import sys

    master, slave = pty.openpty()
    try:
        listed = subprocess.run([sys.executable, "-c", "import sys; from glr.training.trainer_signals import terminal_fds; "
                                 "sys.stderr.write(repr(terminal_fds()))"], stdin=subprocess.DEVNULL, stdout=slave,
                                stderr=subprocess.PIPE, text=True, timeout=60, check=True).stderr
    finally:
        os.close(slave)
        os.close(master)
    assert listed == "[1]"  # stdout on the terminal; stderr a pipe, whose writes never fail on a hang-up


class Full:
    """A stderr on a full disk or /dev/full: every write fails."""

    def write(self, text):
        raise OSError(28, "No space left on device")

    def flush(self):
        raise OSError(28, "No space left on device")


def test_ctrl_c_with_stderr_unwritable_still_asks_the_stop(tmp_path, monkeypatch):
    """`glr train 2>/dev/full`, then `kill -INT`: the message's OSError came out of the handler in the middle of a
    batch, and the run ended "failed" instead of "stopped"."""
    run = Run.create(tmp_path, CONFIG)
    monkeypatch.setattr("sys.stderr", Full())
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with stop_on_signals(run):
        os.kill(os.getpid(), signal.SIGINT)
        wait_until(run.stop_requested)
        time.sleep(0.05)  # the handler has run: anything it raised came out here
    assert run.stop_requested()


@pytest.mark.parametrize("stderr", [Full(), None], ids=["full", "closed"])
def test_say_writes_nothing_where_stderr_cannot_be_written(stderr, monkeypatch, capsys):
    from glr.training.trainer_signals import say

    monkeypatch.setattr("sys.stderr", stderr)
    say("stopping")
    assert capsys.readouterr().out == ""  # print(file=None) would have written to stdout
