"""The words of glr's messages: counts with their noun (`plural`), the verb after one (`have`), a few examples.

Kept apart from glr.data.layouts, which re-exports them, so that what only prints a count (`python -m glr cache`)
does not import pandas and the dataset readers with them: this module imports nothing.
"""

from __future__ import annotations

EXAMPLES_IN_MESSAGE = 3


def examples(values) -> str:
    """A short 'e.g.' list for messages: the first few different values."""
    first = []
    for value in values:  # stops early: `values` may be millions of rows
        if value not in first:
            first.append(value)
            if len(first) == EXAMPLES_IN_MESSAGE:
                break
    return ", ".join(repr(v) if isinstance(v, str) else str(v) for v in first)


def have(n: int) -> str:
    """The verb after `plural(n, ...)`: "1 row has", "2 rows have"."""
    return "has" if n == 1 else "have"


def plural(n: int, word: str) -> str:
    """`1 row`, `2 rows`, `2 classes`."""
    return f"{n:,} {word}" + ("" if n == 1 else "es" if word.endswith("s") else "s")
