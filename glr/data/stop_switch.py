"""Ctrl-C that stops HTTP downloads at once: a switch that ends their waits and shuts their sockets, however far
each has got (resolving the host, connecting, in its TLS handshake, or reading).

A thread blocked on a silent server wakes only when its socket is shut from outside, so every connection
`tracked_adapter` makes is handed to the `StopSwitch` from the moment its socket exists. A host name is
resolved (getaddrinfo, which nothing can interrupt) in a daemon thread that a stopped download leaves behind.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import weakref
from contextlib import contextmanager
from typing import Callable, Iterator


class Stopped(Exception):
    """A download given up because the fetch is stopping (Ctrl-C); never recorded as the photo's failure."""


class StopSwitch:
    """Stops the downloads under way at once: their sleeps end, and their sockets are shut.

    A thread blocked on a silent server wakes only when its socket is shut from outside, so
    every connection is tracked from the moment it is made (`tracked_adapter`).
    """

    def __init__(self):
        self.event = threading.Event()
        self.sockets: weakref.WeakSet = weakref.WeakSet()
        self.lock = threading.Lock()

    def wait(self, seconds: float) -> None:
        """Sleep `seconds`, or raise Stopped as soon as the switch is thrown."""
        if self.event.wait(max(0.0, seconds)):
            raise Stopped

    def check(self) -> None:
        """Raise Stopped if the switch is thrown."""
        self.wait(0)

    def track(self, sock: socket.socket) -> None:
        """Shut `sock` when the switch is thrown (at once if it already is: it was thrown while this one connected)."""
        with self.lock:
            self.sockets.add(sock)
        if self.event.is_set():
            _shut(sock)

    def stop(self) -> None:
        """Throw the switch: first the flag, so that a body cut short by the shut socket is never taken as whole."""
        self.event.set()
        with self.lock:
            sockets = list(self.sockets)
        for sock in sockets:
            _shut(sock)


# The switch of the connection this thread is making, for `_on_audit`: urllib3 makes and connects a socket in one
# call, so Python's "socket.connect" audit event is the one moment the socket can be had before its connect blocks.
_connecting = threading.local()
_hook_lock = threading.Lock()
_hooked = False


def _on_audit(event: str, args: tuple) -> None:
    if event == "socket.connect" and (switch := getattr(_connecting, "switch", None)) is not None:
        switch.track(args[0])  # a connect under way is woken by its socket's shutdown (Linux)
        try:
            switch.check()
        except BaseException:  # urllib3 closes the socket on an OSError only: a stop would leave it to the collector
            args[0].close()
            raise


def _hook_connects() -> None:
    """Install `_on_audit` once per process (an audit hook cannot be removed; it does nothing outside a fetch's connect)."""
    global _hooked
    with _hook_lock:
        if not _hooked:
            sys.addaudithook(_on_audit)
            _hooked = True


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass



@contextmanager
def _installed(signums: tuple[int, ...], handler) -> Iterator[dict | None]:
    """`handler` on `signums` while the block runs, the previous handlers (signal -> handler) yielded and put back
    after it; None yielded and nothing installed off the main thread, the only one Python gives signals to."""
    if threading.current_thread() is not threading.main_thread():
        yield None
        return
    previous = {}
    try:
        for signum in signums:
            previous[signum] = signal.signal(signum, handler)
        yield previous
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _pass_on(previous: dict, signum: int, frame=None) -> None:
    """Hand `signum` to the handler it had before: called if a function, delivered again if the default."""
    handler = previous[signum]
    if callable(handler):
        handler(signum, frame)
    elif handler == signal.SIG_DFL:  # SIGTERM without a handler: end as it would have
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)


@contextmanager
def signals_held(signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM), give_up_after: int | None = None,
                 giving_up: str = "") -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while the block runs, then hand them to their handlers as if they came just after it.

    For code that must not stop half way, such as taking a lock: a KeyboardInterrupt raised between a lock's
    acquire and its release leaves it held for good. Only the main thread takes signals; elsewhere this does nothing.
    With `give_up_after`, that many signals held end the process at once (128 + the signal), `giving_up` said first:
    the way out of a block that hangs (a worker writing to a hung network mount), short of SIGKILL.
    """
    got: list[int] = []

    def hold(number, frame):
        got.append(number)
        if give_up_after is not None and len(got) >= give_up_after:
            try:
                print(giving_up, file=sys.stderr, flush=True)
            except (OSError, ValueError, AttributeError):
                pass
            os._exit(128 + number)

    previous: dict = {}
    try:
        with _installed(signums, hold) as installed:
            previous.update(installed or {})
            yield
    finally:  # the handlers are back: as if the signals came just after the block, each once (a second
        for signum in dict.fromkeys(got):  # Ctrl-C asks no more than the first)
            _pass_on(previous, signum)


@contextmanager
def first_stop_only(signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """While the block runs, the first Ctrl-C or SIGTERM goes to its handler as ever (a KeyboardInterrupt, which stops
    the fetch); any after it are dropped, as the stop it asks for is already under way.

    Python's locks do not survive a second KeyboardInterrupt raised while the first unwinds a wait on them: Ctrl-C
    pressed twice ended the fetch with "RuntimeError: release unlocked lock", or hung it. Main thread only.
    """
    fired: list[int] = []
    previous: dict = {}

    def first_only(signum, frame):
        if not fired:
            fired.append(signum)
            _pass_on(previous, signum, frame)

    with _installed(signums, first_only) as installed:
        previous.update(installed or {})
        yield


def abandonable(stop: StopSwitch, connect: Callable[[], socket.socket]) -> socket.socket:
    """`connect()`'s socket, made in a daemon thread that this one leaves behind (raising Stopped) when `stop` is thrown.

    urllib3 resolves the host (getaddrinfo) and connects in one call, and nothing interrupts a resolver that hangs: a
    worker waiting on one would hold Ctrl-C, and the interpreter's exit, for the resolver's own time-out (tens of
    seconds). The connect itself is shut by `stop` as ever (`_on_audit`), and a socket made after the stop is closed.
    """
    done, out = threading.Event(), {}

    def run():
        _connecting.switch = stop  # the socket is tracked as its connect begins (`_on_audit`)
        try:
            out["sock"] = connect()
        except BaseException as exc:  # handed to the waiting thread, as if it had connected itself
            out["error"] = exc
        finally:
            _connecting.switch = None
            done.set()
        if stop.event.is_set() and "sock" in out:  # nobody may be waiting for it any more
            out["sock"].close()

    threading.Thread(target=run, name="glr-fetch-connect", daemon=True).start()
    while not done.wait(0.05):
        stop.check()
    if "error" in out:
        raise out.pop("error")
    return out["sock"]


def tracked_adapter(stop: StopSwitch, **options):
    """requests' HTTPAdapter whose connections `stop` can shut: each new socket is handed to it as it is made."""
    import urllib3
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection

    _hook_connects()

    def tracked(base):
        class Tracked(base):
            def _new_conn(self):  # urllib3's one place a connection's socket is made (1.x and 2.x)
                stop.check()
                sock = abandonable(stop, super()._new_conn)
                # TLS detaches `sock` before its handshake: a copy of it (the same connection) is what the stop
                # can shut while the handshake waits.
                self.glr_copy = sock.dup()
                stop.track(self.glr_copy)
                return sock

            def connect(self):
                try:
                    super().connect()
                finally:
                    if getattr(self, "glr_copy", None) is not None:
                        self.glr_copy.close()
                        self.glr_copy = None
                stop.track(self.sock)  # the TLS socket, once there is one
        return Tracked

    class HTTPPool(urllib3.HTTPConnectionPool):
        ConnectionCls = tracked(HTTPConnection)

    class HTTPSPool(urllib3.HTTPSConnectionPool):
        ConnectionCls = tracked(HTTPSConnection)

    pools = {"http": HTTPPool, "https": HTTPSPool}

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy, **kwargs):
            manager = super().proxy_manager_for(proxy, **kwargs)
            if isinstance(manager, urllib3.ProxyManager):  # an http(s) proxy; a SOCKS one keeps its own pools
                manager.pool_classes_by_scheme = pools
            return manager

    return Adapter(**options)
