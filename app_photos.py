"""Photos shown in rows that wrap (thumbnails, grids of validation photos, a prediction's training photos), each
with alt text: a screen reader read every one of them as "image", since a caption is not an image's alt text in
Streamlit 1.67 (st.image's `alt`).

Rows that wrap, never st.columns: a phone stacks columns, one photo to a row, each blown up to the whole width.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from glr import thumbnails
from glr.data.layouts import plural
from app_common import md, thumbnail

GRID_PHOTO = 108  # px: six to a row beside the sidebar at 1280 px, three on a phone


def alt_texts(alts: str | list[str] | None, paths: list[str]) -> list[str]:
    """One alt text per photo of `paths`: `alts` as given (one for all, or one each), else each photo's file name.
    Plain text: alt is never Markdown, so names go in as written."""
    if alts is None:
        return [f"photo {Path(str(p)).name}" for p in paths]
    return [alts] * len(paths) if isinstance(alts, str) else [str(a) for a in alts]


def show_thumbnails(paths: list[str], captions: list[str] | None = None, size: int = 140,
                    alts: str | list[str] | None = None) -> None:
    """Thumbnails `size` wide in a row that wraps, each with its alt text (`alts`, see alt_texts); a note for an
    unreadable image."""
    if not paths:
        st.caption("no images")
        return
    row = st.container(horizontal=True)
    for i, (path, alt) in enumerate(zip(paths, alt_texts(alts, paths))):
        caption = captions[i] if captions else None
        with row.container(width=size):
            image = thumbnail(str(path), size)
            if image is None:
                st.caption(f"cannot show {md(Path(path).name)}")
            else:
                st.image(image, caption=md(caption) if caption else None, width=size, alt=alt)  # captions read Markdown


def photo_grid(paths: list[str], captions: list[str], overlay: Callable[[str], None] | None = None,
               alts: str | list[str] | None = None) -> None:
    """Photos in a row that wraps, each GRID_PHOTO wide with its alt text, `overlay(path)` (if given) and its caption
    under it: in columns, a phone stacked them one to a row, each 150 px thumbnail blown up to the whole width (24
    mistakes made the page 12,000 px tall)."""
    row = st.container(horizontal=True)
    for path, caption, alt in zip(paths, captions, alt_texts(alts, paths)):
        with row.container(width=GRID_PHOTO):
            image = thumbnail(str(path), 150)
            if image is None:
                st.caption(f"cannot show {md(Path(path).name)}")
                continue
            st.image(image, width="stretch", alt=alt)
            if overlay is not None:
                overlay(path)
            st.caption(caption)


def thumbnail_row(paths: list[str], captions: list[str] | None = None, alts: str | list[str] | None = None) -> None:
    """Training photos side by side, in ONE st.image element, each with its alt text; an unreadable one gets a note.

    One element, not a grid of columns with an image in each: every element is a message the
    server queues, hands to its event loop and writes to the websocket, which was most of what
    was left of the server's time per request (benchmarks/README.md).
    """
    shown = [(thumb, captions[i] if captions else None, path, alt) for i, (path, alt)
             in enumerate(zip(paths, alt_texts(alts, paths))) for thumb in [thumbnail(str(path), thumbnails.SIZE)]]
    good = [(thumb, caption, alt) for thumb, caption, _, alt in shown if thumb is not None]
    if good:
        # Image captions read Markdown: a name or a photo's credit line is shown as written.
        st.image([thumb for thumb, _, _ in good], caption=[md(c or "") for _, c, _ in good] if captions else None,
                 width=thumbnails.SIZE, alt=[alt for *_, alt in good])
    gone = [path for thumb, _, path, _ in shown if thumb is None and not Path(path).exists()]
    if gone:  # one line, not one per photo: they went together, with the dataset
        st.caption(f"{plural(len(gone), 'training photo')} {'is' if len(gone) == 1 else 'are'} no longer there, e.g. "
                   f"{md(gone[0])}: was the run's dataset moved or deleted since it was trained?")
    for thumb, _, path, _ in shown:
        if thumb is None and path not in gone:
            st.caption(f"cannot show {md(Path(path).name)}")
    if not paths:
        st.caption("no images")
