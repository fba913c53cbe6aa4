"""Where glr keeps things: the results folder, the weight cache, the embedded demo dataset.

The CLI and the app resolve every folder here, so both see the same runs. File and class
names are made printable here too, and fitted to a terminal's columns.
"""

import os
import unicodedata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def is_utf8(name: str) -> bool:
    """False for a name the OS gave as bytes that are not UTF-8 (Python keeps those as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(name: str | os.PathLike) -> str:
    """A file name as text every UTF-8 file, table and terminal takes: undecodable bytes become U+FFFD."""
    return os.fsencode(name).decode("utf-8", "replace")


def shown(name) -> str:
    """A photo's name on one printable line of the listing: a file named "a<newline>b.jpg" (a zip's member, a script's
    file) printed its line in two, and a parser of the listing read "b.jpg  (known score ...)" as a photo of its own.
    Undecodable bytes are U+FFFD, control characters escaped ("a\\nb.jpg"), as the decoder names the file."""
    text = printable(name)
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii") for c in text)


def one_line(text) -> str:
    """`text` on one line: a class name may hold a newline or a tab (a quoted cell of a category CSV)."""
    return " ".join(str(text).split())


def text_columns(text: str) -> int:
    """The terminal columns `text` takes: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit_columns(text: str, width: int) -> str:
    """`text` cut to `width` terminal columns (ending in "…" when cut) and padded to exactly `width`."""
    if text_columns(text) > width:
        while text_columns(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - text_columns(text))


def id_column(ids, least: int = 8) -> list[str]:
    """`ids` as the cells of a right-aligned column as wide as the widest (at least `least`, the width it had).

    GLDv2's landmark_ids have up to 6 digits, but a dataset of its own may number landmarks with
    19, and a fixed width pushed those rows out of line. Shared by inspect's table and predict's lines.
    """
    texts = [str(i) for i in ids]
    width = max([least, *map(len, texts)])
    return [f"{t:>{width}}" for t in texts]


def broken_link(path: str | os.PathLike) -> str | None:
    """"a link to <target>, which is not there (moved or deleted?)" when `path` is a link whose target is
    gone, else None: "file not found" for a name the user can see listed would puzzle them. A link that
    leads back to itself (through others or not) is said as such: its target is there, in a circle."""
    path = Path(path)
    if not path.is_symlink() or path.exists():
        return None
    try:
        target = printable(os.readlink(path))
    except OSError:
        target = "a target"
    if leads_in_a_circle(path):
        return f"a link to {target}, which leads in a circle back to itself, so it cannot be read"
    return f"a link to {target}, which is not there (moved, deleted, or on a drive not mounted?)"


def leads_in_a_circle(path) -> bool:
    """Whether the link `path` leads back to itself (ELOOP), through other links or not."""
    import errno

    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def file_in_the_way(folder: str | os.PathLike) -> Path | None:
    """The first of `folder` and its parents that exists but is not a folder, or None.

    Making a folder there fails with FileExistsError or NotADirectoryError, deep inside
    whatever tried; callers check first to name the file that is in the way.
    """
    path = Path(folder).expanduser().absolute()
    return next((p for p in reversed([path, *path.parents]) if p.exists() and not p.is_dir()), None)


def cache_dir() -> Path:
    """The user cache folder (converted weights, feature caches); `GLR_CACHE_DIR` overrides it."""
    env = os.environ.get("GLR_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "glr"
    return base.expanduser()


def demo_dir() -> Path:
    """Where the embedded demo dataset is generated; `GLR_DEMO_DIR` overrides it.

    The default sits inside the checkout under `data/`, which git ignores.
    """
    env = os.environ.get("GLR_DEMO_DIR")
    return Path(env).expanduser() if env else PROJECT_ROOT / "data" / "demo"


UPLOADS_ENV = "GLR_UPLOADS"  # moves the datasets made in the browser (tests point it at a temp dir)


def uploads_dir() -> Path:
    """Where datasets made in the browser go: `$GLR_UPLOADS`, else `data/uploads` in the checkout (git-ignored)."""
    env = os.environ.get(UPLOADS_ENV)
    return Path(env).expanduser().absolute() if env else PROJECT_ROOT / "data" / "uploads"


RESULTS_ENV = "GLR_RESULTS"  # moves the results folder (tests point it at a temp dir)
DATA_ENV = "GLR_DATA"  # the dataset the app starts with (default: the embedded demo)


def results_dir() -> Path:
    """The results folder holding `runs/`: `$GLR_RESULTS`, else `results/` in the checkout."""
    env = os.environ.get(RESULTS_ENV)
    return Path(env).expanduser().absolute() if env else PROJECT_ROOT / "results"


def default_dataset() -> str | None:
    """The dataset the app starts with: `$GLR_DATA`, else None (the embedded demo)."""
    return os.environ.get(DATA_ENV) or None
