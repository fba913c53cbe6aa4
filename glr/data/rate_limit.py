"""A server that says to slow down (HTTP 429 "too many requests", 503 "unavailable"), for `glr.data.downloads`.

`RateLimiter` spaces the pool's requests out (`--rate`) and pauses them all when the server says to slow down.
`GiveUp` says when to stop asking a server that has answered nothing but that for a long while: at 60 s a pause, a
fetch of 10,000 photos would otherwise go on for days, saying only that it was told to slow down.
"""

from __future__ import annotations

import re
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


def refused_status(reason: str, detail: str) -> int | None:
    """429 or 503 when a photo failed because the server said to slow down (its re-tries spent), else None."""
    said = re.match(r"HTTP (429|503)\b", str(detail)) if reason == f.HTTP_ERROR else None
    return int(said[1]) if said else None


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

    def record(self, reason: str, detail: str) -> None:
        """Count one photo's outcome ("" for fetched)."""
        if not reason:
            self.since, self.refused, self.statuses = self.clock(), 0, set()
        elif (status := refused_status(reason, detail)) is not None:
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
