"""What the app's figures and controls look like at a phone's and a laptop's width, measured in Debian's chromium.

test_browser.py drives the whole app; these check a layout alone, so they need no training: a figure is drawn by
plotly.js from plotly's own bundle (plotly.js 4.1 for plotly 7.1; Streamlit 1.67 bundles 3.8, whose tick placement is the same
for these figures: seen in both) in a page of the phone's or the laptop's width. Skipped, as test_browser.py is, when chromium or playwright is missing.
"""

from __future__ import annotations


import numpy as np
import pytest

from chromium_browser import browser, sync_api  # noqa: F401 (browser: a fixture); skips without chromium

from glr.evaluation import plots

PHONE, LAPTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}
STREAMLIT_GUTTER = 16  # px Streamlit leaves on each side of its main column on a phone


def drawn(browser, fig, viewport: dict) -> tuple[list[dict], int]:
    """The x tick labels plotly.js drew for `fig` in a page of `viewport` (each its box and text), and the page's
    scroll width."""
    page = browser.new_page(viewport=viewport)
    try:
        page.set_content(fig.to_html(include_plotlyjs=True, full_html=True, config={"responsive": True},
                                     default_width="100%").replace(
            "<body>", f"<body style='margin:0 {STREAMLIT_GUTTER}px'>", 1))
        page.wait_for_selector(".xaxislayer-above .xtick text", timeout=30_000)
        # Each label's tick position and angle from its transform ("translate(x,0) rotate(a,0,y)"): a turned
        # label's bounding box is far wider than the text.
        labels = page.eval_on_selector_all(".xaxislayer-above .xtick text", r"""els => els.map(e => {
            const t = e.getAttribute('transform') || '', r = e.getBoundingClientRect();
            const x = /translate\(([-\d.]+)/.exec(t), a = /rotate\(([-\d.]+)/.exec(t);
            return {x: x ? +x[1] : NaN, angle: a ? +a[1] : 0, left: r.left, right: r.right,
                    text: e.textContent, size: parseFloat(getComputedStyle(e).fontSize)}; })""")
        return labels, page.evaluate("document.documentElement.scrollWidth")
    finally:
        page.close()


def test_the_confusion_heatmaps_column_labels_never_overlap_on_a_phone_and_all_show_on_a_laptop(browser):
    # At 390 px, 30 columns' labels (every one listed) were drawn on each other: a grey smudge under the heatmap.
    n = 30
    names = [f"{'Basilica of Saint ' * (i % 3)}Tower {i}" for i in range(n)]
    cm = np.eye(n, dtype=int) * 4
    cm[0, n - 1] = cm[3, 7] = 2
    fig = plots.confusion_figure(cm, names, clickable=True)
    phone, phone_width = drawn(browser, fig, PHONE)
    laptop, _ = drawn(browser, fig, LAPTOP)
    assert phone_width <= PHONE["width"]  # nothing to scroll sideways
    assert 2 <= len(phone) < n and len(laptop) == n
    for labels in (phone, laptop):
        labels = sorted(labels, key=lambda b: b["x"])
        assert all(len(b["text"]) <= plots.TICK_CHARS for b in labels)  # cut, "…" ending it
        angle = labels[0]["angle"]
        assert {b["angle"] for b in labels} == {angle}
        if angle % 180 == 0:  # level: each box ends before the next begins
            assert all(a["right"] <= b["left"] for a, b in zip(labels, labels[1:])), labels
        else:  # turned: parallel lines of text, a font size apart at least across them
            across = [(b["x"] - a["x"]) * abs(np.sin(np.radians(angle))) for a, b in zip(labels, labels[1:])]
            assert min(across) >= labels[0]["size"], (angle, across, [b["text"] for b in labels])


def test_the_confusion_heatmaps_rows_keep_their_height_on_a_phone_whatever_the_column_labels_take(browser):
    # 8 classes drew a 400 px chart whose upright column labels and title left its 8 rows 60 px on a phone: the row
    # labels lay on each other (seen on the Results page in Chromium).
    names = ["Red Fort", "Blue Mosque", "Basilica of the Sagrada Familia in Barcelona", "Tower Bridge",
             "Eiffel Tower", "Old Town Hall", "Taj Mahal", "Golden Gate"]
    cm = np.eye(len(names), dtype=int)
    cm[5, 1] = 2
    page = browser.new_page(viewport=PHONE)
    try:
        page.set_content(plots.confusion_figure(cm, names, clickable=True).to_html(
            include_plotlyjs=True, full_html=True, config={"responsive": True}, default_width="100%"))
        page.wait_for_selector(".yaxislayer-above .ytick text", timeout=30_000)
        rows = page.eval_on_selector_all(".yaxislayer-above .ytick text", """els => els.map(e => [
            e.getBoundingClientRect().top, parseFloat(getComputedStyle(e).fontSize)])""")
    finally:
        page.close()
    assert len(rows) == len(names)
    gaps = [b[0] - a[0] for a, b in zip(rows, rows[1:])]
    assert min(gaps) >= 1.5 * rows[0][1], gaps  # a row and some air
