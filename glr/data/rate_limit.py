"""A server that says to slow down (HTTP 429 "too many requests", 503 "unavailable"), or that answers nothing, for
`glr.data.downloads`.

`RateLimiter` spaces the pool's requests out (`--rate`) and pauses them all when the server says to slow down.
`GiveUp` says when to stop asking a server that has answered nothing but that for a long while: at 60 s a pause, a
fetch of 10,000 photos would otherwise go on for days, saying only that it was told to slow down. `FailingHosts`
says the same, host by host, of a server that only times out, drops the connection or answers 5xx: each photo is
re-tried with back-off, so a dead host held a fetch of 10,000 photos for days too.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from glr.data import fetch as f

SLOW_DOWN = (429, 503)  # "too many requests", "unavailable": the server's words for "slow down", said to the whole pool
MAX_RETRY_AFTER = 60.0  # seconds: the longest Retry-After honoured (a server may ask for an hour, or a date in 2099)
# The fetch stops asking when both hold: this many photos refused with 429/503 (their re-tries spent) since the last
# photo fetched, and this long without a photo fetched. One refused photo takes a minute or more (Retry-After up to
# 60 s, each re-try), so 10 minutes is some 10 rounds of the pool; the count keeps a slow pool (--workers 1) from giving
# up on the evidence of two or three photos.
GIVE_UP_PHOTOS = 10
GIVE_UP_SECONDS = 600.0
LATER = "run the same command later, or with a lower --rate"
AGAIN = "run the same command later to ask for them again"
_WORDS = {429: "'too many requests' (HTTP 429)", 503: "'unavailable' (HTTP 503)"}


class RateLimiter:
    """At most `rate` starts per second across threads (rate <= 0: no limit), and one pause for them all when the
    server says to slow down (`hold`)."""

    def __init__(self, rate: float, notice: Callable[[str], None] | None = None):
        self.notice = notice  # told of the first pause as it begins (the terminal's fetch prints it)
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self.next = time.monotonic()
        self.paused_until = 0.0
        self.pauses, self.longest = 0, 0.0  # how often the server asked to slow down, and the longest pause
        self.lock = threading.Lock()

    def hold(self, seconds: float, status: int = 429) -> None:
        """Start nothing for `seconds` (a 429/503's Retry-After, at most MAX_RETRY_AFTER): a server that says to slow
        down means the whole pool, not the one worker it answered, so N workers do not keep asking N times as often."""
        seconds = min(max(seconds, 0.0), MAX_RETRY_AFTER)
        with self.lock:
            self.paused_until = max(self.paused_until, time.monotonic() + seconds)
            self.pauses += 1
            self.longest = max(self.longest, seconds)
            first = self.pauses == 1
        if first and self.notice is not None:
            try:
                self.notice(f"the server says to slow down (HTTP {status}): every download pauses {seconds:g} s "
                            "(and as often as it asks again; a lower --rate asks less often)")
            except Exception:  # a note that cannot be shown (stderr a closed pipe...) must not fail the photo
                pass

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Block until this caller's turn (sleeping with `sleep`, which a StopSwitch cuts short)."""
        while True:
            with self.lock:
                now = time.monotonic()
                turn = now >= self.paused_until
                start = max(now, self.next) if turn and self.interval else now if turn else self.paused_until
                if turn and self.interval:
                    self.next = start + self.interval
            if start > now:
                sleep(start - now)
            # A pause that began while this caller waited its turn holds it too: the turn is taken again after it.
            if turn and time.monotonic() >= self.paused_until:
                return

    def said(self) -> str | None:
        """A note for the report when the server asked the fetch to slow down, else None."""
        if not self.pauses:
            return None
        return (f"rate limited: the server answered 429 or 503 {self.pauses:,} time{'s' if self.pauses > 1 else ''}, "
                f"and every download paused together (the longest pause {self.longest:g} s); a lower --rate, or "
                "fewer --workers, asks less often")


def refused(reason: str, status: int | None) -> bool:
    """Whether a photo failed because the server said to slow down (429/503, its re-tries spent)."""
    return reason == f.HTTP_ERROR and status in SLOW_DOWN


def _span(seconds: float) -> str:
    """A wait as a person says it: "45 s", "12 minutes"."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} minutes"


class GiveUp:
    """Whether the fetch should stop asking: at least `photos` photos refused with 429/503 and `seconds` gone by since
    the last photo fetched (or the start). A photo fetched starts both afresh. A photo that fails otherwise (404, a
    time-out, not an image) neither counts nor starts them afresh: GLDv2's dead URLs, which a server's front end may
    answer while it refuses every photo, would otherwise keep a fetch that gets nothing asking for ever."""

    def __init__(self, photos: int | None = None, seconds: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        # None: the module's thresholds, read now (not when this was defined), so that one place sets them.
        self.photos = max(1, int(GIVE_UP_PHOTOS if photos is None else photos))
        self.seconds, self.clock = GIVE_UP_SECONDS if seconds is None else seconds, clock
        self.since, self.refused, self.statuses = clock(), 0, set()

    def record(self, reason: str, status: int | None = None) -> None:
        """Count one photo's outcome: its failure reason ("" for fetched) and the HTTP status it was answered with
        (None when no answer came)."""
        if not reason:
            self.since, self.refused, self.statuses = self.clock(), 0, set()
        elif refused(reason, status):
            self.refused += 1
            self.statuses.add(status)

    def due(self) -> bool:
        """Whether the server has answered nothing but "slow down" for long enough to stop asking it."""
        return self.refused >= self.photos and self.clock() - self.since >= self.seconds

    def why(self) -> str:
        """What the server did, for the photos not asked for (the failures CSV's detail) and the summary."""
        words = " or ".join(_WORDS[s] for s in sorted(self.statuses))
        return (f"in the last {_span(self.clock() - self.since)} the server sent no photo and refused {self.refused:,} with "
                f"{words}")


def failing_kind(reason: str, status: int | None) -> str | None:
    """How a photo failed when that says its host is down or broken: a time-out, a failed connection, a body cut
    short, a 5xx other than 503 (that one says to slow down: GiveUp's); None for a photo fetched or any answer a
    working host gives (a 404, a 403, a page that is not a photo)."""
    if reason in (f.TIMED_OUT, f.CONNECTION, f.TRUNCATED):
        return reason
    if reason == f.HTTP_ERROR and status is not None and status >= 500 and status not in SLOW_DOWN:
        return f"HTTP {status}"
    return None


def host_of(url) -> str:
    """The host (with its port, when it says one) a url asks, in lower case; "" for a url without one."""
    from urllib.parse import urlsplit

    try:
        return urlsplit(url.strip()).netloc.rpartition("@")[2].lower() if isinstance(url, str) else ""
    except ValueError:  # "http://[::1" and the like: asked, it fails as a bad url, not as a host
        return ""


class FailingHosts:
    """Which hosts to stop asking: those with at least `photos` photos failed by time-outs, failed connections,
    bodies cut short or 5xx (`failing_kind`) since their last photo fetched, and `seconds` gone by since then (or
    since their first photo came back). Host by host: GLDv2's urls are mostly upload.wikimedia.org, not all, and a
    dead host must not stop the photos of a working one. A photo fetched from a host starts its count afresh, so one
    bad photo among good ones never stops it; a 404 or 403 neither counts nor starts it afresh (a front end may
    answer those while the store behind it is down)."""

    def __init__(self, photos: int | None = None, seconds: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.photos = max(1, int(GIVE_UP_PHOTOS if photos is None else photos))
        self.seconds, self.clock = GIVE_UP_SECONDS if seconds is None else seconds, clock
        self.hosts: dict[str, tuple[float, dict[str, int]]] = {}  # host -> (since, failures by kind)
        self.given_up: dict[str, str] = {}  # host -> why it is asked no more
        self.listed: dict[str, int] = {}  # host -> how many of its photos were listed as not asked

    def record(self, host: str, reason: str, status: int | None = None) -> bool:
        """Count one photo's outcome from `host` (reason "" for fetched); True when that makes it one to ask no more."""
        if not host or host in self.given_up:
            return False
        now = self.clock()
        since, failed = self.hosts.setdefault(host, (now, {}))
        if not reason:
            self.hosts[host] = (now, {})
            return False
        if (kind := failing_kind(reason, status)) is None:
            return False
        failed[kind] = failed.get(kind, 0) + 1
        if sum(failed.values()) < self.photos or now - since < self.seconds:
            return False
        kinds = ", ".join(f"{k} ({n:,})" for k, n in sorted(failed.items(), key=lambda kn: (-kn[1], kn[0])))
        self.given_up[host] = (f"in the last {_span(now - since)} {host} sent no photo and failed "
                               f"{sum(failed.values()):,} in a row: {kinds}")
        return True

    def why(self, host: str) -> str | None:
        """Why `host` is asked no more (for the failures CSV's detail and the summary), or None while it is asked."""
        return self.given_up.get(host)

    def skip(self, report: f.FetchReport, image_id: str, host: str) -> bool:
        """List a photo as not asked (HOST_FAILING, saying why) when its host is asked no more; whether it was."""
        if (why := self.why(host)) is None:
            return False
        report.fail(image_id, f.HOST_FAILING, f"not asked: {why}; {AGAIN}")
        self.listed[host] = self.listed.get(host, 0) + 1
        return True

    def notes(self) -> list[str]:
        """A line for the report per host asked no more."""
        return [f"the fetch stopped asking {host}, {self.listed.get(host, 0):,} photos short (listed as "
                f"'{f.HOST_FAILING}'): {why}; {AGAIN}" for host, why in self.given_up.items()]
