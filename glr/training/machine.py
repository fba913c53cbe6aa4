"""Which pid space a training runs in, and how long another one's training has been silent.

A pid means something only in the pid space it was taken in. The host name does not name that space:
Docker gives a container a new host name on every start, while a new container (a restart) is a new pid
space even on the same kernel. So a record names its pid space by the kernel's boot id (new at every
boot, the same in every container of one kernel) and the pid namespace; the host name stays for messages.
A record of another pid space is judged by its heartbeat instead: the trainer touches its train.lock every
BEAT_SECONDS, and a lock silent for BEAT_STALE seconds is stale. One case needs no wait: this very machine's record
from before its last boot (the same host name and machine-id, another boot id, silent since before this boot), whose
pids are all gone (`rebooted`). Ages are read on the file system's clock
(a file touched now, beside the one judged), so another machine's clock, or this one's jumping, does not
enter into it.
"""

from __future__ import annotations

import os
import socket
import time
from functools import lru_cache
from pathlib import Path

FIELD = "machine"  # the pid space a record's pid belongs to (machine_id())
BEAT_FIELD = "beat"  # in train.lock: how often its trainer touches it (seconds); absent in an older glr's lock
HOST_ID_FIELD = "host_id"  # /etc/machine-id of the machine that wrote a record (host_id()), to tell a reboot
BEAT_SECONDS = 10.0
BEAT_STALE = 120.0  # seconds without a beat before another pid space's lock is stale: 12 beats missed


@lru_cache(maxsize=1)
def host_id() -> str | None:
    """This installation's /etc/machine-id (the same at every boot, new for every installed system), None where none."""
    try:
        return Path("/etc/machine-id").read_text().strip() or None
    except OSError:
        return None


@lru_cache(maxsize=1)
def machine_id() -> str:
    """This process's pid space: `<boot id>/<pid namespace>`, or the host name where /proc has neither."""
    parts = []
    try:
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
        parts.append(os.readlink("/proc/self/ns/pid").removeprefix("pid:"))
    except OSError:  # macOS, Windows, a /proc hidden from us
        return "host:" + socket.gethostname()
    return "/".join(parts)


def same_pid_space(record: dict) -> bool:
    """Whether a record's pid can be looked at here: it names this pid space (or, written before glr kept
    one, this host name)."""
    recorded = record.get(FIELD)
    if isinstance(recorded, str) and recorded:
        return recorded == machine_id()
    host = record.get("host")
    return not (isinstance(host, str) and host and host != socket.gethostname())


def here() -> dict:
    """The fields naming this process's pid space in a record: the host name (said to people), FIELD, the machine-id
    (HOST_ID_FIELD: with the host name, what tells this machine's record from before a reboot), and the boot time as
    read now (`booted`: a pid's start time recorded beside it is then judged however the clock is set since;
    glr.training.processes.pid_alive)."""
    from glr.training.processes import boot_time

    return {"host": socket.gethostname(), FIELD: machine_id(), HOST_ID_FIELD: host_id(), "booted": boot_time()}


def uptime() -> float | None:
    """Seconds since this machine booted, on a clock no setting of the wall clock moves (None where unknown)."""
    clock = getattr(time, "CLOCK_BOOTTIME", None)  # Linux: counts a suspend too, as the boot id's age does
    try:
        return time.clock_gettime(clock) if clock is not None else None
    except OSError:
        return None


def rebooted(record: dict) -> bool:
    """Whether `record` was written in this machine's own pid space before its last boot, so its pids are gone.

    The same host name and the same machine-id (where /etc/machine-id exists), the same pid namespace (the initial
    one's never changes; a container's does) and another boot id. A container on another kernel keeps its own
    host name or namespace, so it is never taken for us: it stays on its heartbeat. The caller also checks that the
    record has been silent since before this boot (`uptime`): a machine that merely shares our names beats.
    """
    recorded = record.get(FIELD)
    if not isinstance(recorded, str) or recorded.count("/") != 1 or recorded == machine_id():
        return False
    if "/" not in machine_id() or record.get("host") != socket.gethostname() or record.get(HOST_ID_FIELD) != host_id():
        return False
    boot, namespace = recorded.split("/")
    my_boot, my_namespace = machine_id().split("/")
    return boot != my_boot and namespace == my_namespace


def died_with_a_boot(record: dict, paths, beside: str | os.PathLike) -> bool:
    """Whether `record` is this machine's from before its last boot (`rebooted`) and `paths` (the files its process
    kept writing) have been silent since before this boot, so its processes died with that boot.

    The silence is what tells a reboot from a cloned VM, which shares our host name, machine-id and pid namespace
    (the initial one's is the same everywhere) under another boot id while its processes live and write.
    """
    return rebooted(record) and silent_for(paths, beside) > (uptime() or float("inf"))


def fs_now(beside: str | os.PathLike) -> float:
    """Now on the clock of the file system holding `beside` (a file this process may touch): its new mtime.

    On a network share the server stamps the times, so this and another machine's touches share one clock.
    A file that cannot be touched (read-only) gives this machine's clock.
    """
    try:
        os.utime(beside)
        return os.stat(beside).st_mtime
    except OSError:
        return time.time()


def silent_for(paths, beside: str | os.PathLike) -> float:
    """Seconds since the newest of `paths` was written, by the file-system clock (see fs_now); inf if none exists.

    Never negative: a file stamped in the future (a clock set back since) counts as written now.
    """
    latest = None
    for path in paths:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            continue
        latest = mtime if latest is None else max(latest, mtime)
    if latest is None:
        return float("inf")
    return max(0.0, fs_now(beside) - latest)
