"""Readable landmark names from GLDv2's categories (Wikimedia Commons category URLs), one row or a whole column.

`category_to_name` is the rule; `category_names` gives its answer for a column of 200k categories in a fraction
of a second, taking GLDv2's common form (`http://commons.wikimedia.org/wiki/Category:Old_Bridge`) in one vectorised
pass and leaving every other row to the rule itself.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd

# GLDv2's own form: the name is all after `Category:` (no query, fragment, trailing `/` or control character, which
# urlsplit and the rule read apart), read by `_tail_name` as the rule reads it.
COMMONS_CATEGORY = r"^https?://commons\.wikimedia\.org/wiki/Category:((?:[^?#\x00-\x1f\x7f]*[^?#/\x00-\x1f\x7f])?)$"
# `Category%3AX` (its colon escaped), and Wikipedias' categories in their own language (`.../Kategorie:X`).
LOCAL_PREFIX = re.compile(
    r"^(?i:category|kategorie|catégorie|categoría|categoria|categorie|kategori|kategoria|категория|カテゴリ|分类):")


def category_to_name(category: str) -> str:
    """A readable name from a Wikimedia category URL (`.../wiki/Category:Eiffel_Tower` -> "Eiffel Tower").

    A URL's query and fragment (`?uselang=fr`, `#History`) and a trailing `/` are no part of the name,
    and `index.php?title=Category:X` names X. Plain names pass through with underscores turned into spaces.
    """
    text = str(category).strip()
    url = re.match(r"https?://", text, re.IGNORECASE)
    if url:
        parts = urlsplit(text)
        text = parse_qs(parts.query).get("title", [parts.path])[0].rstrip("/")
    if "Category:" in text:
        text = text.split("Category:", 1)[1]
    elif "/wiki/" in text:
        text = text.rsplit("/wiki/", 1)[1]
    elif url:  # a URL elsewhere (`https://example.com/my/Old_Bridge`): its last part names it
        text = text.rstrip("/").rsplit("/", 1)[-1]
    return _tail_name(text)


def _tail_name(text: str) -> str:
    """The name a category's last part (`Caf%C3%A9_de_Flore`) says: unescaped, its language's prefix dropped."""
    try:
        text = unquote(text, errors="strict")
    except UnicodeDecodeError:  # a percent-escape cut short: the name as written beats a "�"
        pass
    return LOCAL_PREFIX.sub("", text).replace("_", " ").strip()


def category_names(categories: pd.Series) -> pd.Series:
    """`category_to_name` of each of `categories` (text), same index, without its urlsplit for GLDv2's form.

    A name needing neither unescaping nor a prefix dropped (no `%`, no `:`) is made by vectorised replace and strip;
    the rest of GLDv2's form by `_tail_name`, and any other form by the rule itself."""
    text = categories.astype("string[python]").str.strip()  # the rule's first step, by Python's own strip
    tail = text.str.extract(COMMONS_CATEGORY, expand=False)
    names = tail.str.replace("_", " ", regex=False).str.strip().to_numpy(dtype=object, na_value=None)
    escaped = tail.str.contains("[%:]", regex=True).fillna(False).to_numpy(dtype=bool)
    names[escaped] = [_tail_name(t) for t in tail.to_numpy(dtype=object)[escaped]]
    rest = (tail.isna() & text.notna()).to_numpy(dtype=bool)
    names[rest] = [category_to_name(c) for c in categories.to_numpy(dtype=object)[rest]]
    return pd.Series(names, index=categories.index, dtype=object)


# A UTF-8 lead byte read as Windows-1252 (`Ã` for 0xC3), then a continuation byte so read (0x80-0xBF: `©`, `­`, `€`,
# ...; the five bytes Windows-1252 lacks come through as the control characters of their number).
_DOUBLE_ENCODED = ("[\u00c2-\u00f4][\u0080-\u00bf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039"
                   "\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178]")


def undo_double_encoding(names: pd.Series, what: str = "name") -> tuple[pd.Series, str | None]:
    """`names` with each name that is UTF-8 text read as Windows-1252 and saved again (`Sagrada FamÃ­lia`: a file
    opened so by Excel, then saved as "CSV UTF-8") read as it was written (`Sagrada Família`), and a note saying
    so (calling each a `what`: train.csv's ids too); `names` and None when there is none. Only a name whose bytes
    so read are wholly UTF-8 is changed."""
    text = names.astype("string[python]")
    maybe = text.str.contains(_DOUBLE_ENCODED, regex=True).fillna(False).astype(bool)
    if not maybe.any():  # GLDv2's 203k names: one vectorised search
        return names, None
    fixed = {i: undone for i, name in text[maybe].items() if (undone := _undone(name)) is not None}
    if not fixed:
        return names, None
    first = next(iter(fixed))
    out = names.copy()
    out[list(fixed)] = list(fixed.values())
    n = len(fixed)
    return out, (f"{n} {what}{'s' if n > 1 else ''} {'were' if n > 1 else 'was'} UTF-8 text read as Windows-1252 and "
                 f"saved again (opened so by a spreadsheet?), e.g. {names[first]!r}: read as {fixed[first]!r}")


def _undone(name: str) -> str | None:
    """`name` read back from Windows-1252 into its bytes and as UTF-8, or None when those bytes are not UTF-8."""
    try:
        data = b"".join(bytes([ord(c)]) if c in "\x81\x8d\x8f\x90\x9d" else c.encode("cp1252") for c in name)
        return data.decode("utf-8")
    except UnicodeError:
        return None
