"""Polite, bounded, retrying HTTP downloads of photos from train.csv's `url` column.

A small pool of threads, each with a `requests` session whose urllib3 `Retry` re-tries 429
and 5xx answers and failed connections with exponential back-off (and honours
Retry-After, up to MAX_RETRY_AFTER). A 429 or 503 pauses the whole pool, not only the worker it answered, and the
report says the server asked to slow down. A time-out or a body cut short while it streams is
re-tried here, with the same back-off; one photo's body must arrive within DEADLINE, however
slowly the server sends it. Requests start no faster than `rate` per second across the pool, under a
User-Agent that says who is asking (Wikimedia, where GLDv2's URLs point, asks for one).
Each photo is held in memory (at most `glr.data.fetch.MAX_BYTES`), checked to decode and
written atomically by `glr.data.fetch.save_image`. On Ctrl-C a `glr.data.stop_switch.StopSwitch` ends
every wait and shuts every socket under way, so a stalled server (or resolver) holds nobody up to its time-out.
A failure that asking again cannot cure (an untrusted certificate, a body that does not decompress, a connection
that urllib3 has already re-tried) is named and not asked again. A server that answers nothing but 429/503 for a long
while (`glr.data.rate_limit.GiveUp`) is asked no more: the photos not got are listed, for the same command later; so is,
host by host, one that only times out, drops the connection or answers 5xx (`FailingHosts`), and the others go on.
Whether a photo was refused or failed so is told by the HTTP status `download` returns, never by its message's words.
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable, NamedTuple

import pandas as pd

from glr.data import fetch as f
from glr.data.download_settings import DEADLINE, RATE, RETRIES, TIMEOUT, USER_AGENT, WORKERS  # noqa: F401 - read from here too
from glr.data.rate_limit import LATER, MAX_RETRY_AFTER, SLOW_DOWN, FailingHosts, GiveUp, RateLimiter, host_of
from glr.data.stop_switch import Stopped, StopSwitch, first_stop_only, signals_held, tracked_adapter

BACKOFF = 1.0  # seconds; the waits are BACKOFF x 1, 2, 4...
SIGNAL_CHECK_SECONDS = 0.2  # how soon a stop signal taken by another thread is acted on
CHUNK = 64 * 1024
RETRY_STATUS = (429, 500, 502, 503, 504)


class Answer(NamedTuple):
    """One photo's download: its body, or None with a failure reason and detail (glr.data.fetch's reasons); and the
    HTTP status it was last answered with (None when no answer came: a time-out, a connection that failed)."""

    data: bytes | None
    reason: str
    detail: str
    status: int | None = None


class Outcome(NamedTuple):
    """What became of one photo: its id, failure reason ("" when saved), detail, and the HTTP status of its answer."""

    image_id: str
    reason: str
    detail: str
    status: int | None = None


def _capped_retry(stop: StopSwitch, limiter: RateLimiter | None = None):
    """urllib3's Retry, waiting at most MAX_RETRY_AFTER when a 429/503 says Retry-After (it would sleep whatever it is
    told), and sleeping on `stop` so that Ctrl-C ends the wait. A 429 or 503 pauses every worker of `limiter`'s pool
    (for its Retry-After, else the back-off), not only the one that was answered."""
    from urllib3.exceptions import InvalidHeader
    from urllib3.util.retry import Retry

    class CappedRetry(Retry):
        def get_retry_after(self, response):
            try:
                after = super().get_retry_after(response)
            except InvalidHeader:  # "soon", "-5": no wait is said, so the back-off is waited, as without one
                return None
            return None if after is None else min(max(after, 0.0), MAX_RETRY_AFTER)

        def sleep(self, response=None):
            after = self.get_retry_after(response) if self.respect_retry_after_header and response else None
            if limiter is not None and response is not None and response.status in SLOW_DOWN:
                limiter.hold(after if after is not None else max(self.get_backoff_time(), self.backoff_factor),
                             response.status)
                limiter.wait(stop.wait)  # the pause, then this worker's turn at the rate, as any other start
                return
            stop.wait(after if after else self.get_backoff_time())

    return CappedRetry


def make_session(workers: int, retries: int, backoff: float, user_agent: str, stop: StopSwitch | None = None,
                 limiter: RateLimiter | None = None):
    """A requests session that re-tries 429/5xx and failed connections (urllib3's Retry), sized for the pool;
    `stop` ends its waits and shuts its connections; a 429/503 pauses every start of `limiter`."""
    import requests

    stop = stop or StopSwitch()
    # Time-outs and bodies cut short are re-tried by `download` (read=0 here), so they are not re-tried twice over.
    retry = _capped_retry(stop, limiter)(total=retries, connect=retries, read=0, status=retries, other=0, backoff_factor=backoff,
                  status_forcelist=RETRY_STATUS, allowed_methods=frozenset({"GET"}), raise_on_status=False,
                  respect_retry_after_header=True)
    session = requests.Session()
    adapter = tracked_adapter(stop, max_retries=retry, pool_connections=workers, pool_maxsize=workers)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session


def _is_timeout(exc: BaseException) -> bool:
    """requests wraps urllib3's time-outs in several ways (ReadTimeout, ConnectionError(MaxRetryError(...)))."""
    import requests

    return isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower()


def _first_line(exc: BaseException) -> str:
    """An error's first line, short enough for the failures CSV."""
    return (str(exc).splitlines() or [exc.__class__.__name__])[0][:200]


def _cause(exc: BaseException, kind: type | tuple) -> BaseException | None:
    """The first exception of `kind` in what `exc` wraps (requests and urllib3 nest them in args, .reason and causes)."""
    seen, todo = set(), [exc]
    while todo:
        each = todo.pop(0)
        if not isinstance(each, BaseException) or id(each) in seen:
            continue
        if isinstance(each, kind):
            return each
        seen.add(id(each))
        todo += [*each.args, getattr(each, "reason", None), each.__cause__, each.__context__]
    return None


def _detail(exc: BaseException) -> str:
    """What went wrong, for the failures CSV: the cause urllib3 wraps, without the name of its connection pool."""
    import urllib3

    if (cut := _cause(exc, urllib3.exceptions.IncompleteRead)) is not None and isinstance(cut.partial, int):
        return (f"{cut.partial:,} bytes of the {cut.partial + cut.expected:,} its Content-Length promised, "
                "then the connection closed")
    retried = _cause(exc, urllib3.exceptions.MaxRetryError)
    inner = retried.reason if retried is not None and retried.reason is not None else exc
    if len(inner.args) > 1 and isinstance(inner.args[-1], str) and not isinstance(inner.args[0], str):
        return _first_line(Exception(inner.args[-1]))  # (connection, message): a connect time-out
    return re.sub(r"^\w+\(host=.*?\): ", "", _first_line(inner))


def _incurable(exc: BaseException) -> tuple[str, str] | None:
    """The failure reason and detail of an error that asking again cannot cure, or None."""
    import urllib3

    if (cert := _cause(exc, ssl.SSLCertVerificationError)) is not None:  # self-signed, expired, another host's...
        return f.UNTRUSTED, (getattr(cert, "verify_message", "") or _first_line(cert))[:200]
    if (bad := _cause(exc, urllib3.exceptions.DecodeError)) is not None:  # says gzip (or deflate, br...), is not
        return f.BAD_ENCODING, _first_line(bad)
    return None


def _retry_after(resp, backoff: float) -> float:
    """The seconds a 429/503 answer asks to wait (Retry-After, at most MAX_RETRY_AFTER), else `backoff`."""
    from urllib3.exceptions import InvalidHeader
    from urllib3.util.retry import Retry

    try:
        after = Retry().parse_retry_after(resp.headers["Retry-After"]) if resp.headers.get("Retry-After") else None
    except InvalidHeader:  # "soon", "-5"
        after = None
    return min(max(after, 0.0), MAX_RETRY_AFTER) if after is not None else backoff


def _content_length(resp) -> int:
    """The Content-Length the answer states, 0 when it states none or nonsense ("abc", "-5"): the body is counted anyway."""
    try:
        return max(0, int(resp.headers.get("Content-Length") or 0))
    except ValueError:
        return 0


def _read_body(resp, max_bytes: int, deadline: float) -> tuple[bytes | None, str, str]:
    """The body, read one network read at a time (read1) so the deadline is checked however slowly it comes."""
    body, started = bytearray(), time.monotonic()
    while True:
        chunk = resp.raw.read1(CHUNK, decode_content=True)
        if not chunk:
            return bytes(body), "", ""
        body += chunk
        if len(body) > max_bytes:
            return None, f.TOO_LARGE, f"over {max_bytes:,} bytes"
        if time.monotonic() - started > deadline:
            return None, f.TIMED_OUT, f"still sending after {deadline:g} s ({len(body):,} bytes so far)"


def download(session, url: str, timeout: float, retries: int, backoff: float, limiter: RateLimiter,
             max_bytes: int = f.MAX_BYTES, deadline: float = DEADLINE,
             stop: StopSwitch | None = None) -> Answer:
    """The body at `url`, or None with a failure reason and detail (see glr.data.fetch's reasons), and the status.

    `timeout` bounds each wait for the server, `deadline` the whole body of one attempt. Raises
    Stopped when `stop` is thrown (the session's connections must be `stop`'s too).
    """
    import requests
    import urllib3

    stop = stop or StopSwitch()
    reason, detail = f.CONNECTION, ""
    for attempt in range(retries + 1):
        if attempt:
            stop.wait(backoff * 2 ** (attempt - 1))
        limiter.wait(stop.wait)
        try:
            with session.get(url, timeout=timeout, stream=True) as resp:
                status = resp.status_code
                if status in (404, 410):
                    return Answer(None, f.NOT_FOUND, f"HTTP {status}", status)
                if resp.status_code in SLOW_DOWN:  # its re-tries are spent (or --retries 0): the pool still slows down
                    limiter.hold(_retry_after(resp, backoff), resp.status_code)
                if resp.status_code >= 400:
                    limited = " (rate limited: fetch again later, or with a lower --rate)" if resp.status_code == 429 else ""
                    return Answer(None, f.HTTP_ERROR, f"HTTP {status}{limited}", status)
                size = _content_length(resp)
                if size > max_bytes:
                    return Answer(None, f.TOO_LARGE, f"{size:,} bytes", status)
                # A deadline overrun is not re-tried: it took long enough.
                return Answer(*_read_body(resp, max_bytes, deadline), status)
        except requests.TooManyRedirects as exc:  # a loop, or a chain no browser would follow: asking again is no cure
            return Answer(None, f.HTTP_ERROR, f"redirected too many times (a loop?): {_first_line(exc)}")
        except requests.exceptions.InvalidSchema as exc:  # `url` is http(s): a redirect led off the web (ftp:, file:...)
            if "SOCKS" in str(exc):  # "Missing dependencies for SOCKS support."
                return Answer(None, f.PROXY,
                              "a SOCKS proxy is set (ALL_PROXY, HTTPS_PROXY...): it needs `pip install PySocks`")
            target = re.search(r"No connection adapters were found for '(.*)'", str(exc))
            return Answer(None, f.HTTP_ERROR,
                          f"redirected to {target[1]}, which is not http(s)" if target else _first_line(exc))
        # "http://" (no host), a host name label over 63 characters (urllib3's, also an HTTPError: before the next)
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                urllib3.exceptions.LocationValueError) as exc:
            return Answer(None, f.NO_URL, _first_line(exc))
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            reason = f.TIMED_OUT if _is_timeout(exc) else \
                f.TRUNCATED if isinstance(exc, (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError)) \
                else f.CONNECTION
            detail = _detail(exc)
            if (final := _incurable(exc)) is not None:
                return Answer(None, *final)
            retried = _cause(exc, urllib3.exceptions.MaxRetryError)
            if retried is not None and isinstance(retried.reason, urllib3.exceptions.ProxyError):  # re-tried, as below
                # Its url is not said: it may hold a user name and password.
                return Answer(None, f.PROXY, f"the proxy (HTTPS_PROXY, HTTP_PROXY) failed: {_detail(retried.reason.original_error)}")
            if retried is not None and isinstance(retried.reason, urllib3.exceptions.ConnectTimeoutError):
                return Answer(None, reason, detail)  # refused, no such host, no answer: urllib3 has re-tried it `retries` times
            # A body cut short (urllib3's ProtocolError), a time-out while streaming, a connection dropped: try again.
        except ValueError as exc:  # a URL requests cannot parse
            return Answer(None, f.CONNECTION, str(exc)[:200])
    return Answer(None, reason, detail)


def _not_an_image(data: bytes) -> str:
    """What a body that does not decode looks like: a 0-byte answer and an HTML page (a block or rate-limit page) are named."""
    if not data:
        return "empty (0 bytes)"
    if data.lstrip()[:1] == b"<":
        return f"an HTML/XML page, not a photo ({data.lstrip()[:60].decode('utf-8', 'replace')!r}...)"
    return f.decode_problem(data) or "does not decode as an image"


def _one(root: Path, session: Callable, image_id: str, url: str, options: dict, limiter: RateLimiter,
         stop: StopSwitch) -> Outcome:
    """Download one photo and save it; its id, failure reason or "", detail and HTTP status."""
    url = url.strip() if isinstance(url, str) else ""
    # Schemes are case-insensitive (HTTP://...); anything but http(s) is never asked for (file:, ftp:, javascript:).
    if not url.lower().startswith(("http://", "https://")):
        return Outcome(image_id, f.NO_URL, "empty" if not url else url[:200])
    data, reason, detail, status = download(session(), url, options["timeout"], options["retries"], options["backoff"],
                                    limiter, options["max_bytes"], options["deadline"], stop)
    stop.check()  # a body whose socket the switch shut may look whole (no Content-Length): never save it
    if data is not None:
        reason = f.save_image(root, image_id, data) or ""
        detail = _not_an_image(data) if reason == f.NOT_AN_IMAGE else detail
    return Outcome(image_id, reason, detail, status)


def download_all(root: Path, targets: pd.DataFrame, report: f.FetchReport,
                 progress: Callable[[int, int], None] | None = None, workers: int = WORKERS, rate: float = RATE,
                 timeout: float = TIMEOUT, retries: int = RETRIES, backoff: float = BACKOFF,
                 user_agent: str = USER_AGENT, max_bytes: int = f.MAX_BYTES, ids: list[str] | None = None,
                 deadline: float = DEADLINE, notice: Callable[[str], None] | None = None,
                 give_up_photos: int | None = None, give_up_after: float | None = None) -> None:
    """Download `targets` (id, url) into root's GLDv2 layout with a bounded pool; record results in `report`.

    At most `workers` downloads run at once and at most a few more wait, so memory stays
    flat for any number of photos. On Ctrl-C the downloads under way are given up at once
    (their sockets shut; a photo is written whole or not at all), the rest are not started,
    and KeyboardInterrupt goes on. `notice(text)` is told, from a worker thread, when the server first says to
    slow down. When `give_up_photos` photos have been refused with 429/503 and none fetched for `give_up_after`
    seconds (None: glr.data.rate_limit's GIVE_UP_PHOTOS and GIVE_UP_SECONDS), the fetch stops asking as it does on
    Ctrl-C, but returns, every photo not got in `report`. A host whose photos failed so many times and so long with
    time-outs, failed connections or 5xx (`FailingHosts`) is asked no more: its photos not asked are listed as
    HOST_FAILING, and the other hosts' go on.
    """
    workers = max(1, int(workers))
    options = {"timeout": timeout, "retries": max(0, int(retries)), "backoff": backoff, "max_bytes": max_bytes,
               "deadline": max(deadline, timeout)}
    known = set(targets["id"])
    for image_id in ids or []:
        if image_id not in known:
            report.fail(image_id, f.NO_URL, "no row in train.csv")
    rows = iter(zip(targets["id"], targets["url"]))
    total = len(targets)
    limiter, stop = RateLimiter(rate, notice), StopSwitch()
    # One session per thread: requests does not promise a Session is safe to share between threads.
    local, sessions = threading.local(), []

    def session():
        if not hasattr(local, "session"):
            local.session = make_session(1, options["retries"], backoff, user_agent, stop, limiter)
            sessions.append(local.session)
        return local.session

    pool, pending, done = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="glr-fetch"), set(), 0
    finished: set = set()
    asked, hosts = {}, {}  # future -> id, and -> the host it asks, of the photos under way
    watch, gave_up = GiveUp(give_up_photos, give_up_after), False
    failing = FailingHosts(give_up_photos, give_up_after)

    def tick():
        nonlocal done
        done += 1
        if progress:
            progress(done, total)
    with first_stop_only():  # a Ctrl-C pressed twice must not break the locks the first one's stop needs
        try:
            while not (gave_up := watch.due()):
                for image_id, url in rows if len(pending) < 2 * workers else ():
                    if failing.skip(report, image_id, host := host_of(url)):  # listed: its host is asked no more
                        tick()
                        continue
                    future = pool.submit(_one, root, session, image_id, url, options, limiter, stop)
                    pending.add(future)
                    asked[future], hosts[future] = image_id, host
                    if len(pending) >= 2 * workers:
                        break
                if not pending:
                    break
                # Woken now and then: a `kill` may land on a worker thread, whose signal only sets a flag that the
                # main thread reads when it next runs; blocked in wait() it would hold the stop for a whole time-out.
                finished, pending = wait(pending, timeout=SIGNAL_CHECK_SECONDS, return_when=FIRST_COMPLETED)
                while finished:
                    future = finished.pop()
                    del asked[future]
                    image_id, reason, detail, status = future.result()
                    watch.record(reason, status)
                    if reason:
                        report.fail(image_id, reason, detail)
                    else:
                        report.fetched += 1
                    tick()
                    if failing.record(host := hosts.pop(future), reason, status):  # its photos waiting: not asked
                        for queued in [q for q in pending if hosts[q] == host and q.cancel()]:
                            pending.discard(queued)
                            del hosts[queued]
                            failing.skip(report, asked.pop(queued), host)
                            tick()
        finally:
            if (slowed := limiter.said()) is not None:
                report.notes.append(slowed)
            _wind_down(stop, pending, pool, sessions)
            for future in pending | finished:  # written as the stop came, not yet counted: on disk, so said as kept
                if not future.cancelled() and future.exception() is None and not future.result()[1]:
                    report.fetched += 1
            if not gave_up:
                report.notes += failing.notes()
    if gave_up:  # the server said only to slow down for too long: what it did not send is listed, to ask again later
        _list_given_up(report, asked, rows, f"{watch.why()}; {LATER}", failing)
        report.notes += failing.notes()


def _list_given_up(report: f.FetchReport, asked: dict, rows, why: str, failing: FailingHosts) -> None:
    """Record the photos a fetch that stopped asking did not get: those cut short in a pause and those never asked for
    (GAVE_UP, with `why`); one that finished as the stop came, as it finished (counted already when fetched)."""
    given_up = len(report.failures)
    for future, image_id in asked.items():
        if future.cancelled():
            report.fail(image_id, f.GAVE_UP, f"not asked: {why}")
        elif isinstance(future.exception(), Stopped):
            report.fail(image_id, f.GAVE_UP, f"given up as the fetch stopped asking: {why}")
        elif future.result()[1]:  # another exception (a full disk) is raised here, as when it finishes in the loop
            report.fail(*future.result()[:3])
    for image_id, url in rows:
        if not failing.skip(report, image_id, host_of(url)):  # a host asked no more says so, not the rate limit
            report.fail(image_id, f.GAVE_UP, f"not asked: {why}")
    given_up = sum(reason == f.GAVE_UP for _, reason, _ in report.failures[given_up:])
    report.notes.append(f"the fetch stopped asking, {given_up:,} photos short (listed as '{f.GAVE_UP}'): {why}")


def _wind_down(stop: StopSwitch, pending: set, pool: ThreadPoolExecutor, sessions: list) -> None:
    """Stop the workers and wait until every one is out; a Ctrl-C (or SIGTERM) meanwhile is taken after, not in it.

    A second Ctrl-C raised in here could stop in the middle of a lock (threading.Event.set): the stop then hung for
    good, or left a worker on a stalled server that the interpreter's exit waited on for the whole time-out.
    """
    with signals_held(give_up_after=2, giving_up="stopping now, without waiting for the downloads under way (photos "
                      "are written whole or not at all; the same command goes on)"):
        stop.stop()  # a no-op after the last photo; on Ctrl-C it frees the workers a stalled server holds
        for future in pending:
            future.cancel()
        # A socket shut in the instant before its connect began is not woken by it: shut them again until all are out.
        while wait(pending, timeout=0.25).not_done:
            stop.stop()
        pool.shutdown(wait=True, cancel_futures=True)
        for each in sessions:
            each.close()
