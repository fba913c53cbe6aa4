"""Get exactly the photos a curated GLDv2 subset needs, from the URLs of train.csv or from the release's tar shards.

`fetch` curates the dataset (top-N classes, as training will), lists the photos that are
not on disk yet, and hands them to one of two sources: `glr.data.downloads` (the `url`
column of train.csv, a bounded pool of polite HTTP downloads) or `glr.data.tar_shards`
(the `images_NNN.tar` shards, streamed once each). Every photo is checked to decode as an
image and written atomically to `train/a/b/c/<id>.jpg`, so a run that is interrupted and
started again skips what is there and leaves nothing half-written; Ctrl-C raises
`FetchInterrupted`, which holds the report of what was done. What failed, and why, is
written to a CSV beside train.csv, never losing an earlier run's (a stopped run keeps its rows for the photos it
did not get).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from glr.atomic import StorageError, write_bytes
from glr.spreadsheet import read_csv, write_csv  # a list for people: a BOM, formula-like cells escaped
from glr.data import datasets
from glr.data.layouts import TRAIN_CSV
from glr.data.photo_files import pad_for_fetch
from glr.errors import DatasetError, ImageError
from glr.paths import broken_link

FAILURES_CSV = "fetch_failures.csv"  # beside train.csv
MAX_BYTES = 25 * 1024 * 1024  # larger than any GLDv2 photo (Commons originals are capped at 800 px by the release)
CHECK_PX = 64  # the decode check decodes at about this size: a real decode of every byte, at a fraction of the cost

# The reasons a photo can fail, as written in the failures CSV.
NOT_FOUND, TIMED_OUT, NOT_AN_IMAGE, TOO_LARGE = "not found (404)", "timed out", "not an image", "too large"
HTTP_ERROR, CONNECTION, TRUNCATED = "http error", "connection failed", "body cut short"
NOT_IN_SHARDS, BAD_MD5 = "not in any shard", "bad md5"
UNTRUSTED, BAD_ENCODING = "certificate not trusted", "body does not decompress"  # never re-tried: no cure
PROXY = "proxy failed"
EARLIER = "in an earlier run: "  # the detail of a row a stopped run keeps from the earlier list
NO_URL = "no usable url"  # empty, not http(s) (ftp:, file:, javascript:, a relative path), or no row: nothing was asked
GAVE_UP = "given up (rate limited)"  # the fetch stopped asking a server that answered only 429/503 for a long while
HOST_FAILING = "given up (host failing)"  # ... a host that only timed out, dropped connections or answered 5xx
# Failures that asking again, or another setting here, may cure: the network, the proxy, the server's load.
COULD_PASS = {CONNECTION, TIMED_OUT, PROXY, TRUNCATED, UNTRUSTED, GAVE_UP, HOST_FAILING}


def could_pass(reason: str, detail: str) -> bool:
    """Whether a photo that failed so may be got by the same command later (a 5xx or 429 too, unlike a 403 or 404)."""
    return reason in COULD_PASS or (reason == HTTP_ERROR and re.match(r"HTTP (429|5\d\d)\b", str(detail)) is not None)
# When every photo asked for fails for one of these, the cause is likely this computer's, not the photos'.
HINTS = {CONNECTION: "is this computer online? Behind a proxy, set HTTPS_PROXY and HTTP_PROXY",
         HTTP_ERROR: "the server refuses them: if it says HTTP 429, fetch later or with a lower --rate; if HTTP 403, "
                     "give a --user-agent that says who you are (Wikimedia asks for one with a contact)",
         GAVE_UP: "the server said only to slow down (HTTP 429 or 503) for a long while: run the same command "
                    "later, or with a lower --rate",
         HOST_FAILING: "the server only timed out, dropped the connection or failed (HTTP 5xx) for a long while: is "
                       "this computer online? Run the same command later",
         PROXY: "check HTTPS_PROXY and HTTP_PROXY (and NO_PROXY, the hosts asked directly), or unset them",
         UNTRUSTED: "a proxy that inspects TLS needs its certificate in REQUESTS_CA_BUNDLE; or is this computer's "
                    "clock wrong?"}


@dataclass
class FetchReport:
    """What a fetch did: counts, and one row per failed photo (id, reason, detail)."""

    wanted: int = 0
    already: int = 0
    checked: int = 0  # photos on disk checked so far (`checking` while that goes on: the counts are partial)
    checking: bool = False
    fetched: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures_csv: Path | None = None
    earlier_listed: int = 0  # rows a stopped run kept in the failures CSV from the earlier list

    def fail(self, image_id: str, reason: str, detail: str = "") -> None:
        """Record a photo that could not be got."""
        self.failures.append((image_id, reason, detail))

    def failure_table(self) -> pd.DataFrame:
        """The failures as a table: id, reason, detail."""
        return pd.DataFrame(self.failures, columns=["id", "reason", "detail"])

    def by_reason(self) -> pd.Series:
        """How many failed for each reason, most first; ties by name (the workers finish in any order)."""
        return self.failure_table()["reason"].value_counts().sort_index().sort_values(ascending=False, kind="stable")

    def kept(self, before: str = " the stop") -> str:
        """What a fetch that stopped part way kept, and how to go on."""
        on_disk = self.already + self.fetched
        return (f"kept the {self.fetched:,} photos fetched before{before}; {on_disk:,} of the {self.wanted:,} "
                f"wanted are on disk, each one whole. Run the same command again to fetch the other "
                f"{self.wanted - on_disk:,} (what is there is skipped)")

    def interrupted_summary(self, how: str = "interrupted") -> str:
        """What a fetch stopped by Ctrl-C (or SIGTERM: `how` says which) kept, and how to go on."""
        if self.checking:
            return (f"{how} while checking the photos already on disk ({self.checked:,} of the {self.wanted:,} wanted "
                    f"checked so far, {self.already:,} of them whole); nothing was downloaded. "
                    "Run the same command again to go on")
        lines = [f"{how}: {self.kept()}"]
        if self.failures:
            listed = f", listed in {self.failures_csv} (only the photos asked for before the stop)" if self.failures_csv else ""
            lines.append(f"{len(self.failures):,} failed before the stop{listed}")
        return "\n".join(lines + self.earlier_line() + self.notes)

    def earlier_line(self) -> list[str]:
        """The line that says an earlier run's failures stay listed (none when there are none)."""
        if not (self.earlier_listed and self.failures_csv):
            return []
        return [f"earlier failures kept in {self.failures_csv}: {self.earlier_listed:,} (photos not on disk that this "
                f"run did not fail; marked '{EARLIER.strip()}')"]

    def summary(self) -> str:
        """A few lines for the terminal: counts, then failures by reason."""
        lines = [f"wanted {self.wanted:,} photos: {self.already:,} already there, {self.fetched:,} fetched, "
                 f"{len(self.failures):,} failed"]
        if self.failures:
            by_reason = self.by_reason()
            lines += [f"  {reason}: {n:,}" for reason, n in by_reason.items()]
            if self.failures_csv:
                lines.append(f"failures listed in {self.failures_csv}")
            if not self.fetched and len(by_reason) == 1 and by_reason.index[0] in HINTS:  # one cause, and none came
                lines.append(f"every photo asked for failed with '{by_reason.index[0]}': {HINTS[by_reason.index[0]]}")
        lines += self.earlier_line() + self.notes
        return "\n".join(lines)

    def got_nothing(self) -> str | None:
        """One line naming the problem when every photo asked for failed (the command then exits non-zero), else None.

        A partial failure is None: GLDv2 always has dead URLs, and training uses what is on disk. So is a run that
        finds left to fetch, beside photos already on disk, only photos no asking again will get (404, 403, not an
        image, too large): a fetch run again over a dataset as whole as it gets is no error, or `fetch && train`
        would never train.
        """
        if self.fetched or not self.failures:
            return None
        if self.already and not any(could_pass(reason, detail) for _, reason, detail in self.failures):
            return None
        by_reason = self.by_reason()
        main, n = by_reason.index[0], int(by_reason.iloc[0])
        if n == len(self.failures):
            most = f"'{main}'"
        elif n > int(by_reason.iloc[1]):
            most = f"mostly '{main}' ({n:,})"
        else:  # a tie at the top: no reason is "mostly" the cause, and none's hint is the one
            most, main = ", ".join(f"'{reason}' ({int(count):,})" for reason, count in by_reason.head(3).items()), None
        hint = f" ({HINTS[main]})" if main in HINTS else ""
        listed = f"; listed in {self.failures_csv}" if self.failures_csv else ""
        return (f"none of the {len(self.failures):,} photos asked for could be got: {most}{hint}{listed}; "
                f"{self.already:,} of the {self.wanted:,} wanted are on disk")


class FetchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a fetch; `report` says what it had done (the failures CSV lists the failures before the stop)."""

    def __init__(self, report: FetchReport):
        super().__init__("fetch interrupted")
        self.report = report


def image_path(root: Path, image_id: str) -> Path:
    """Where GLDv2's layout keeps a photo: root/train/a/b/c/<id>.jpg."""
    return root / "train" / image_id[0] / image_id[1] / image_id[2] / f"{image_id}.jpg"


def check_image(data: bytes, name: str) -> None:
    """Raise ImageError unless `data` decodes as an image (a truncated JPEG or an HTML page does not)."""
    from glr.data.images import decode_image

    if not data:
        raise ImageError(f"{name}: empty (0 bytes)")
    decode_image(data, draft_size=CHECK_PX, shrink=lambda photo: photo.crop((0, 0, 1, 1)))  # 1 px to sRGB, not all


def decode_problem(data: bytes) -> str:
    """Why `data` is not a photo, in the decoder's words (a truncated JPEG, a decompression bomb...); "" if it is one."""
    try:
        check_image(data, "photo")
    except ImageError as exc:
        return re.sub(r"^[^:]*: ", "", str(exc))[:200]  # the name the decoder gives bytes ("the upload") says nothing
    return ""


def is_valid_file(path: Path) -> bool:
    """Whether a photo on disk exists and decodes (a resumed fetch keeps it)."""
    try:
        check_image(path.read_bytes(), path.name)
    except (OSError, ImageError):
        return False
    return True


def save_image(root: Path, image_id: str, data: bytes) -> str | None:
    """Check `data` decodes, then write it atomically to the photo's place; the failure reason, or None when saved."""
    if len(data) > MAX_BYTES:
        return TOO_LARGE
    try:
        check_image(data, image_id)
    except ImageError:
        return NOT_AN_IMAGE
    path = image_path(root, image_id)
    try:
        write_bytes(path, data)
    except StorageError:
        raise
    except OSError as exc:  # not one atomic names (a link to a drive not mounted...): a traceback, else
        raise unwritable(path, exc) from exc
    return None


def unwritable(path: Path, exc: OSError) -> StorageError:
    """A StorageError naming why `path` cannot be written, for an OSError that glr.atomic leaves as it is."""
    broken = next((p for p in path.parents if broken_link(p)), None)
    why = f"{broken} is {broken_link(broken)}" if broken else exc.strerror or str(exc)
    error = StorageError(f"{path}: cannot be written, {why}; fix that folder, then run the same command again")
    error.errno = exc.errno
    return error


def curated_ids(data: str | os.PathLike, top_n: int, min_images: int, val_fraction: float, seed: int,
                notes: list[str] | None = None) -> tuple[Path, pd.Series]:
    """The dataset's root and the ids of the photos the curated top-N classes hold (as `glr train` will curate them).

    What reading and curating left out (rows with an unsafe id, classes too small...) goes to `notes`, as `glr train`
    says it: a row fetch skips without a word is a photo the user thinks is coming.
    """
    catalog = datasets.load_catalog(data, check_files=False)
    if catalog.layout != "gldv2":
        raise DatasetError(f"{data}: fetch needs a GLDv2 folder (train.csv, or train_clean.csv); this is {catalog.layout}")
    pad_for_fetch(catalog)  # an id a spreadsheet cut short: its photo saved under GLDv2's id, which training reads
    datasets.check_split_settings(val_fraction, seed)  # as train will be asked; the split itself is not needed here
    rows, _, _ = datasets.curated_rows(catalog, top_n=top_n, min_images=min_images)  # nor sklearn's 2-4 s import
    if notes is not None:
        notes += catalog.problems
    return catalog.root, rows["id"].astype(str).reset_index(drop=True)


def missing_ids(root: Path, ids: pd.Series, progress: Callable[[int], None] | None = None,
                report: FetchReport | None = None) -> tuple[list[str], int]:
    """The ids whose photo is absent or does not decode, and how many are there and valid (counted in `report`'s
    `checked` and `already` as they go, so that a stop part way says how far it got)."""
    todo, have = [], 0
    report = report or FetchReport()
    report.checking = True
    for image_id in ids:
        if is_valid_file(image_path(root, image_id)):
            have += 1
            report.already += 1
        else:
            todo.append(image_id)
        report.checked += 1
        if progress:
            progress(1)
    report.checking = False
    return todo, have


def fetch(data: str | os.PathLike, top_n: int = datasets.DEFAULT_TOP_N, min_images: int = datasets.DEFAULT_MIN_IMAGES,
          val_fraction: float = datasets.DEFAULT_VAL_FRACTION, seed: int = datasets.DEFAULT_SEED,
          shards: str | os.PathLike | None = None, progress: Callable[[int, int], None] | None = None,
          checking: Callable[[int, int], None] | None = None, **download_options) -> FetchReport:
    """Get the curated photos of `data` that are not on disk: from train.csv's URLs, or from the tar shards in `shards`.

    `progress(done, total)` is called as photos are handled, `checking(done, total)` as the
    photos already on disk are checked (which takes a while for many). `download_options` go to
    `glr.data.downloads.download_all` (workers, rate, timeout, retries...). The failures
    CSV is written (or removed, when nothing failed) beside train.csv. Ctrl-C raises
    FetchInterrupted with the report so far, once the CSV lists the failures before the stop.
    """
    notes: list[str] = []
    root, ids = curated_ids(data, top_n, min_images, val_fraction, seed, notes)
    report = FetchReport(wanted=len(ids), notes=notes)
    asked = False  # whether photos were asked for: an earlier run's failures CSV is then no longer true
    try:
        tick = (lambda _: checking(report.checked, report.wanted)) if checking else None
        todo, report.already = missing_ids(root, ids, tick, report)
        if todo:
            asked = True
            if shards is not None:
                from glr.data.tar_shards import extract_from_shards

                extract_from_shards(Path(shards), root, todo, report, progress)
            else:
                from glr.data.downloads import download_all

                download_all(root, urls_for(data, root, todo, report), report, progress, ids=todo, **download_options)
    except KeyboardInterrupt:
        if asked:
            try:
                list_failures(root, report, stopped=True)
            except KeyboardInterrupt:  # a second Ctrl-C: the CSV is written atomically, so it is whole or as it was
                report.failures_csv = None
        raise FetchInterrupted(report) from None
    except StorageError as exc:  # a full disk, a read-only folder: what was fetched before is whole, and kept
        said = len(report.notes)
        if asked:  # before that, this run knows nothing that an earlier run's list does not: it is left alone
            list_failures(root, report, stopped=True)
        earlier = f", and {report.earlier_listed:,} of an earlier run not got yet" if report.earlier_listed else ""
        listed = f" ({len(report.failures):,} failed{earlier}, listed in {report.failures_csv})" if report.failures_csv else ""
        error = StorageError("; ".join([f"{exc}; the fetch stopped and {report.kept('')}{listed}", *report.notes[said:]]))
        error.errno = exc.errno
        raise error from exc
    list_failures(root, report)
    return report


def urls_for(data: str | os.PathLike, root: Path, ids: list[str], report: FetchReport | None = None) -> pd.DataFrame:
    """id, url of `ids`, read from the dataset's train.csv (which the release ships with a url column).

    The file is read as the catalog reads it (glr.data.train_csv): column names in any case,
    with spaces around them, and a spreadsheet's semicolons or tabs for commas. An id listed
    more than once takes its first usable (http or https) url, and `report` notes the ids whose
    urls differ: one photo, one download, never two racing to one file. An id of `ids` given back the leading zeros
    a spreadsheet took (glr.data.photo_files) is found under the id as train.csv has it, and keeps its zeros.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from glr.data import train_csv

    csv = Path(data) if Path(data).is_file() and Path(data).name == TRAIN_CSV else root / TRAIN_CSV
    if not csv.is_file():
        raise DatasetError(f"{csv}: not found; fetching from URLs needs GLDv2's train.csv (id,url,landmark_id)")
    header, names, delimiter = train_csv.read_layout(csv)
    if not {"id", "url"} <= set(header):
        raise DatasetError(f"{csv}: has no url column; fetching from URLs needs id,url,landmark_id "
                           "(or use --from-shards with the release's tar shards)")
    table = train_csv.arrow_columns(csv, names, ["id", "url"], delimiter)
    # The catalog trims its ids: so must the look-up.
    table = table.set_column(table.schema.get_field_index("id"), "id", pc.utf8_trim_whitespace(table["id"]))
    wanted = set(ids)
    cut = {i.lstrip("0"): i for i in ids if re.fullmatch("0[0-9]{15}", i)}  # as a spreadsheet left them
    cut = {short: i for short, i in cut.items() if short and short not in wanted}
    table = table.filter(pc.is_in(table["id"], value_set=pa.array([*ids, *cut], pa.string())))
    rows = table.to_pandas()
    if cut:
        rows["id"] = rows["id"].map(lambda i: cut.get(i, i))
    return first_usable_url(rows, report)


def first_usable_url(rows: pd.DataFrame, report: FetchReport | None = None) -> pd.DataFrame:
    """One row per id: its first http(s) url (else its first row); ids listed with different urls are noted in `report`."""
    if not rows["id"].duplicated().any():  # the usual case, at GLDv2's millions of rows: nothing to choose
        return rows
    urls = rows["url"].fillna("").astype(str).str.strip()
    usable = urls.str.lower().str.startswith(("http://", "https://"))
    torn = urls[usable].groupby(rows["id"][usable], sort=False).nunique()
    torn = list(torn.index[torn > 1])
    if torn and report is not None:
        shown = ", ".join(map(repr, torn[:3])) + (", ..." if len(torn) > 3 else "")
        report.notes.append(f"train.csv lists {len(torn):,} id{'s' if len(torn) > 1 else ''} more than once with "
                            f"different urls (e.g. {shown}); only the first usable url of each was asked for")
    first = rows.assign(usable=usable).sort_values("usable", ascending=False, kind="stable").drop_duplicates("id")
    return first.sort_index().drop(columns="usable")


def list_failures(root: Path, report: FetchReport, stopped: bool = False) -> None:
    """Write the failures CSV (`report.failures_csv`) atomically, or remove it when nothing failed; never raises OSError.

    A list is never lost: the rows of the earlier list whose photos are still not on disk and that this run did not
    fail stay (marked EARLIER: photos of another --top-n, or not asked again before a stop), and a list that cannot
    be written (a full disk...) leaves the earlier one whole where it is, which `report.notes` says.
    """
    path = root / FAILURES_CSV
    table = report.failure_table()
    earlier = not_asked_again(root, report)
    report.earlier_listed = len(earlier)
    table = pd.concat([table, earlier], ignore_index=True) if len(earlier) else table
    existed = path.exists()
    try:
        if len(table):
            report.failures_csv = write_csv(path, table)
        else:
            report.failures_csv = None
            path.unlink(missing_ok=True)
    except OSError as exc:  # a StorageError (a full disk...), or another failure of the disk
        report.failures_csv = None
        why = f"cannot be written ({os.strerror(exc.errno)})" if exc.errno else str(exc)
        kept = ("; the list there is an earlier run's, left as it was" if path.is_file() else
                "; a folder has its name: move it away, then run the same command again" if path.is_dir() else "")
        report.notes.append(f"the failures are not listed: {path} {why}{kept}")
        return
    if stopped and existed and not len(table):
        report.notes.append(f"{path}, the list of an earlier run's failures, is removed: none failed before the stop, "
                            "and the photos it listed are on disk now")


def not_asked_again(root: Path, report: FetchReport) -> pd.DataFrame:
    """The rows of the earlier failures CSV that this run leaves true: photos not on disk that it did not fail
    itself (their detail marked EARLIER). Empty when there is no readable list."""
    path = root / FAILURES_CSV
    try:
        old = read_csv(path, dtype=str, keep_empty=True)  # glr's reader: every cell as written, "" kept
    except (OSError, ValueError):  # none, or not a list this wrote (pandas' parse errors are ValueErrors): no loss
        return report.failure_table().iloc[:0]
    if not {"id", "reason", "detail"} <= set(old.columns):
        return report.failure_table().iloc[:0]
    mine = {image_id for image_id, _, _ in report.failures}
    ids = old["id"].str.strip()
    on_disk = ids.map(lambda i: len(i) >= 3 and "/" not in i and image_path(root, i).exists())
    keep = old.loc[~ids.isin(mine) & ~on_disk, ["id", "reason", "detail"]].copy()
    marked = keep["detail"].str.startswith(EARLIER)
    keep.loc[~marked, "detail"] = EARLIER + keep.loc[~marked, "detail"]
    return keep.reset_index(drop=True)
