"""The few style rules the app needs that Streamlit 1.67 has no setting for, and a chart that scrolls sideways.

Each rule names Streamlit's data-testid attributes (its test hooks, stable across releases), never its generated
class names. The browser tests (test_browser.py) measure what each rule is for, so a Streamlit upgrade that renames a
hook fails there rather than quietly bringing the fault back.
"""

from __future__ import annotations

import streamlit as st

# A collapsed sidebar is only slid out of view (transform: translateX(-300px)): its links stayed in the Tab order and
# in the accessibility tree, so a keyboard or screen-reader user on a phone (where it starts collapsed) went through
# five invisible links before the page. Hidden, they leave both; it is visible again the moment it opens.
SIDEBAR_HIDDEN_WHEN_COLLAPSED = '[data-testid="stSidebar"][data-collapsed="true"] { visibility: hidden; }'
# st.image given a list lays its photos out in one wrapping row (stImage, a flex box) 16 px apart in height and 0 px
# across: on a phone two thumbnails touched, one photo's edge running into the next. One photo alone has no gap to fill.
IMAGE_ROW_GAP = '[data-testid="stImage"] { column-gap: 0.5rem; }'
# An upload box's line of accepted types is one line cut with "…": a phone (390 px) showed "JPG, JFIF, JPE, PNG, WEBP,
# HEIC, …" and hid that BMP, GIF, TIFF, icons and zips are taken too. It wraps instead.
UPLOAD_TYPES_WRAP = '[data-testid="stFileUploaderDropzoneInstructions"] span { white-space: normal; }'
RULES = "\n".join([SIDEBAR_HIDDEN_WHEN_COLLAPSED, IMAGE_ROW_GAP, UPLOAD_TYPES_WRAP])


def apply() -> None:
    """Add the app's style rules to the page (a <style> alone takes no room: Streamlit puts it out of the layout)."""
    st.html(f"<style>{RULES}</style>")


def sideways_rules(key: str, min_width: int) -> str:
    """The CSS that keeps the element of `key` at least `min_width` px wide, its container scrolling sideways when
    the page is narrower (a phone), never the page itself."""
    box = f".st-key-{key}"
    return f"{box} {{ overflow-x: auto; }} {box} > * {{ min-width: {int(min_width)}px; }}"


def scrolling_sideways(key: str, min_width: int):
    """A container (`key`) whose contents are at least `min_width` px wide: it scrolls sideways in a narrower window.

    For a chart whose columns would be squeezed to a few pixels on a phone; where the page is wide enough (a laptop)
    nothing changes.
    """
    st.html(f"<style>{sideways_rules(key, min_width)}</style>")
    return st.container(key=key)


HEATMAP_MAX_WIDTH = 720  # px: under the 820 px main column at 1280, where the heatmap only stretches
TICK_CHARS = 28  # glr.evaluation.plots.TICK_CHARS: a heatmap's labels are cut to this (not imported: plotly is heavy)


def heatmap_width(columns: int, label_chars: int) -> int:
    """The width (px) a confusion heatmap of `columns` classes needs to be read: about 18 px a column, as tall as
    its rows, beside its row labels (about 7 px a character of the longest, `label_chars`) and its axis title; at most
    HEATMAP_MAX_WIDTH."""
    return min(HEATMAP_MAX_WIDTH, 18 * columns + 7 * min(label_chars, TICK_CHARS) + 60)


def heatmap_box(key: str, names: list[str]):
    """A container for a confusion heatmap of the classes `names`: on a phone it scrolls sideways rather than squeeze
    30 columns into 180 px (6 px each, its cells three times as tall as wide)."""
    return scrolling_sideways(key, heatmap_width(len(names), max((len(str(n)) for n in names), default=0)))
