"""What the app's figures and controls look like at a phone's and a laptop's width, measured in Debian's chromium.

test_browser.py drives the whole app; these check a layout alone, so they need no training: a figure is drawn by
plotly.js from plotly's own bundle (plotly.js 4.1 for plotly 7.1; Streamlit 1.67 bundles 3.8, whose tick placement is the same
for these figures: seen in both) in a page of the phone's or the laptop's width. Skipped, as test_browser.py is, when chromium or playwright is missing.
"""

from __future__ import annotations

import subprocess
import sys

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


# --------------------------------------------------------------------------- app_style's rules in a real Streamlit page

STYLE_APP = '''
import sys
sys.path.insert(0, {root!r})
import numpy as np
import streamlit as st
import app_style
from glr.evaluation import plots

st.set_page_config(layout="wide")
app_style.apply()
with st.sidebar:
    for name in ("Home", "Dataset", "Train"):
        st.button(name)
st.image([np.full((120, 120, 3), 40 * i, dtype=np.uint8) for i in range(4)], width=120)
st.file_uploader("Drop photos here", type=["jpg", "jfif", "jpe", "png", "webp", "heic", "heif", "avif", "bmp", "gif",
                                          "tif", "ico", "zip"], accept_multiple_files=True)
st.selectbox("Run", [f"20261206-195712-efficientnet_lite0{{s}} (finished)" for s in ("-finetuned-on-the-barcelona-subset-v2", "")])
st.selectbox("Class", [f"Basilica of Saint Tower {{i}}, Barcelona, Catalonia, Spain" for i in range(30)])
st.toggle("Use the camera")
if not st.session_state.get("cleared") and st.button("Clear all"):  # gone once pressed, as the Predict page's is
    st.session_state["cleared"] = True
    st.rerun()
with st.expander("train.log (last lines)"):
    st.code("epoch 1 " * 40, language="text", wrap_lines=True)
n = 30
names = [f"{{'Basilica of Saint ' * (i % 3)}}Tower {{i}}" for i in range(n)]
with app_style.heatmap_box("heatmap_box", names):
    event = st.plotly_chart(plots.confusion_figure(np.eye(n, dtype=int) * 4, names, clickable=True), key="heatmap",
                            on_select="rerun", selection_mode="points")  # as the Results page's
st.text("selected cells: " + str([(p["x"], p["y"]) for p in event.selection.points] if event else []))
for _ in range(12):
    st.write("Text below the heatmap, so that a phone's page scrolls past it. " * 4)
'''


@pytest.fixture(scope="module")
def style_app(tmp_path_factory):
    """A Streamlit page of app_style's rules: a sidebar of buttons, a list of thumbnails, a 30-class heatmap."""
    from test_browser import ROOT, free_port, stop_streamlit, wait_healthy  # helpers only: no test is imported

    folder = tmp_path_factory.mktemp("style_app")
    (folder / "style_app.py").write_text(STYLE_APP.format(root=str(ROOT)))
    port, log = free_port(), folder / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "style_app.py", "--server.headless", "true",
                                 "--server.address", "127.0.0.1", "--server.port", str(port),
                                 "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                                cwd=folder, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, log, timeout=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_streamlit(proc)


def opened(browser, url: str, viewport: dict):
    page = browser.new_page(viewport=viewport)
    page.goto(url)
    page.locator(".st-key-heatmap .nsewdrag").first.wait_for(timeout=60_000)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=60_000)
    return page


def focused(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement, r = e.getBoundingClientRect();
        return {text: (e.innerText || e.getAttribute('aria-label') || '').trim(), left: r.left, right: r.right,
                in_sidebar: !!e.closest('[data-testid="stSidebar"]')}; }""")


def test_a_collapsed_sidebars_links_are_out_of_the_tab_order_and_back_in_once_it_opens(browser, style_app):
    # On a phone the sidebar starts collapsed, slid 300 px out of view: Tab still went through its five navigation
    # links (and a screen reader read them), focus invisible off the screen, before reaching the page.
    page = opened(browser, style_app, PHONE)
    try:
        stops = []
        for _ in range(6):
            page.keyboard.press("Tab")
            stops.append(focused(page))
        assert not any(s["in_sidebar"] for s in stops), stops
        assert any("keyboard_double_arrow_right" in s["text"] for s in stops)  # the button that opens it
        page.locator('[data-testid="stExpandSidebarButton"]').click()
        page.locator('[data-testid="stSidebar"][data-collapsed="false"]').wait_for()
        page.locator('[data-testid="stSidebar"] button', has_text="Train").focus()
        page.keyboard.press("Shift+Tab")
        page.wait_for_function("() => document.activeElement.getBoundingClientRect().left >= 0")  # slid into view
        stop = focused(page)
        assert stop["in_sidebar"] and stop["text"] == "Dataset", stop
    finally:
        page.close()


def test_a_list_of_thumbnails_has_a_gap_and_the_heatmap_scrolls_sideways_on_a_phone_only(browser, style_app):
    # On a phone, st.image's list drew the Predict page's similar photos edge to edge (0 px apart); the 30-class
    # heatmap had 181 px for its 30 columns (6 px each) beside its row labels.
    widths = {}
    for viewport in (PHONE, LAPTOP):
        page = opened(browser, style_app, viewport)
        try:
            boxes = page.eval_on_selector_all('[data-testid="stImageContainer"]',
                                              "els => els.map(e => e.getBoundingClientRect().toJSON())")
            same_row = [(a, b) for a, b in zip(boxes, boxes[1:]) if a["top"] == b["top"]]
            assert same_row and all(b["left"] - a["right"] >= 6 for a, b in same_row), boxes
            widths[viewport["width"]] = page.evaluate("""() => ({
                cells: document.querySelector('.st-key-heatmap .nsewdrag').getBoundingClientRect().width,
                chart: document.querySelector('.st-key-heatmap').getBoundingClientRect().width,
                box: document.querySelector('.st-key-heatmap_box').getBoundingClientRect().width,
                page: document.documentElement.scrollWidth,
                main: document.querySelector('[data-testid="stMain"]').scrollWidth})""")
        finally:
            page.close()
    phone, laptop = widths[PHONE["width"]], widths[LAPTOP["width"]]
    assert phone["page"] <= PHONE["width"] and phone["main"] <= PHONE["width"], phone  # the box scrolls, not the page
    assert phone["box"] < phone["chart"] and phone["cells"] >= 15 * 30, phone  # 15 px a column at least
    assert laptop["chart"] == laptop["box"] and laptop["main"] <= LAPTOP["width"], laptop  # stretched, no scrolling


def test_an_upload_boxs_accepted_types_wrap_on_a_phone_rather_than_end_in_an_ellipsis(browser, style_app):
    # At 390 px the line of accepted types ended "HEIC, …": BMP, GIF, TIFF, icons and zips were cut from view.
    page = opened(browser, style_app, PHONE)
    try:
        line = page.locator('[data-testid="stFileUploaderDropzoneInstructions"] span', has_text="per file")
        text, scroll, client, height = line.evaluate("e => [e.innerText, e.scrollWidth, e.clientWidth, e.clientHeight]")
        assert text.endswith("ICO, ZIP") and scroll <= client, (text, scroll, client)
        assert height > 20  # on more than one line
    finally:
        page.close()


def open_list(box) -> None:
    """Open a select box's list and wait for its first option to be drawn. A click right after another list closed
    was sometimes taken for no more than a focus (aria-expanded stayed false), and once (a CI run of 7 December) the
    list said it was open while no option came in 30 s: close it and click again."""
    option = box.page.get_by_role("option").first
    for _ in range(3):
        if box.get_attribute("aria-expanded") == "true":
            box.page.keyboard.press("Escape")
        box.click()
        try:
            sync_api.expect(box).to_have_attribute("aria-expanded", "true", timeout=3_000)
            option.wait_for(state="visible", timeout=5_000)
            return
        except (AssertionError, sync_api.TimeoutError):
            continue
    sync_api.expect(box).to_have_attribute("aria-expanded", "true")
    option.wait_for(state="visible")


def test_a_long_select_value_ends_in_an_ellipsis_with_a_tooltip_and_its_options_wrap_on_a_phone(browser, style_app):
    # At 320 px the Run box showed "20261206-195712-efficientnet_lite0-finet" and stopped, no "…", no tooltip; its
    # list cut every option the same way, so "(finished)" was nowhere to be seen.
    page = opened(browser, style_app, {"width": 320, "height": 700})
    try:
        box = page.get_by_role("combobox", name="Run", exact=True)
        value, overflow, cut = box.evaluate("e => [e.value, getComputedStyle(e).textOverflow, e.scrollWidth > e.clientWidth]")
        assert cut and overflow == "ellipsis", (value, overflow)
        box.hover()
        sync_api.expect(box).to_have_attribute("title", value)  # the whole value, on a pointer's hover
        open_list(box)
        options = page.get_by_role("option")
        shown = options.evaluate_all("""els => els.map(e => ({text: e.innerText.replace(/\\n/g, ' '), height: e.offsetHeight,
            cut: e.firstElementChild.scrollWidth > e.firstElementChild.clientWidth}))""")
        assert [o["text"] for o in shown] == [value, "20261206-195712-efficientnet_lite0 (finished)"], shown
        assert not any(o["cut"] for o in shown) and shown[0]["height"] > 50, shown  # wrapped onto more lines
        page.keyboard.press("Escape")
        options.first.wait_for(state="detached")
        # A list of 30 (virtualised, rows of one height): each option that does not fit ends in "…".
        open_list(page.get_by_role("combobox", name="Class", exact=True))
        option = page.get_by_role("option").first
        assert option.evaluate("e => getComputedStyle(e.firstElementChild).textOverflow") == "ellipsis", option.inner_html()
    finally:
        page.close()


def touch_swipe(page, x: float, y: float, dy: float) -> None:
    """A one-finger swipe from (x, y) by dy px, as the browser's input pipeline gets it (scrolls what a finger would)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for i in range(1, 11):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y + dy * i / 10}]})
        page.wait_for_timeout(16)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_timeout(300)
    cdp.detach()


def test_a_swipe_over_a_clickable_heatmap_scrolls_the_page_and_a_tap_selects_its_cell(browser, style_app):
    # On a touch screen a swipe over the confusion heatmap (on_select, so Streamlit forces dragmode "pan") panned the
    # chart and never scrolled the page; a tap on a cell selected nothing.
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(style_app)
        cells = page.locator(".st-key-heatmap .nsewdrag").first
        cells.wait_for(timeout=60_000)
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=60_000)
        cells.scroll_into_view_if_needed()
        ranges = "() => ['xaxis', 'yaxis'].map(a => document.querySelector('.st-key-heatmap .js-plotly-plot')._fullLayout[a].range)"
        scrolled = "() => document.querySelector('[data-testid=\"stMain\"]').scrollTop"
        box, top, before = cells.bounding_box(), page.evaluate(scrolled), page.evaluate(ranges)
        touch_swipe(page, box["x"] + 60, box["y"] + min(box["height"], PHONE["height"] - box["y"]) * 0.6, -150)
        assert page.evaluate(scrolled) >= top + 100  # the page moved with the finger
        assert page.evaluate(ranges) == before  # the chart did not
        # The centre of the diagonal cell of class k (its row's and column's), k the first below the page's header.
        x, y, k = page.evaluate("""() => { const gd = document.querySelector('.st-key-heatmap .js-plotly-plot');
            const r = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
            for (let k = 0; k < 30; k++) { const x = r.left + xa._offset + xa.l2p(k), y = r.top + ya._offset + ya.l2p(k);
                if (y > 120 && x > 0 && x < window.innerWidth) return [x, y, k]; } }""")
        page.touchscreen.tap(x, y)
        name = f"{'Basilica of Saint ' * (k % 3)}Tower {k}"
        sync_api.expect(page.get_by_text("selected cells:")).to_have_text(f"selected cells: [('{name}', '{name}')]",
                                                                          timeout=30_000)
    finally:
        context.close()


def test_enter_on_the_open_sidebar_button_moves_focus_into_the_sidebar_and_a_code_block_is_a_named_region(browser,
                                                                                                       style_app):
    # On a phone, Enter on "Expand sidebar" opened it and dropped focus to the page's body: the next Tab went to the
    # page, past the sidebar. A code block was a Tab stop with no name.
    page = opened(browser, style_app, PHONE)
    try:
        page.get_by_text("train.log (last lines)").click()
        code = page.locator('[data-testid="stCode"]')
        code.wait_for()
        sync_api.expect(code).to_have_attribute("aria-label", "train.log (last lines)")
        sync_api.expect(code).to_have_attribute("role", "region")
        page.locator('[data-testid="stExpandSidebarButton"]').focus()
        page.keyboard.press("Enter")
        page.locator('[data-testid="stSidebar"][data-collapsed="false"]').wait_for()
        page.wait_for_function("() => document.activeElement.closest('[data-testid=\"stSidebar\"]')")
        assert focused(page)["text"] == "Home"
        page.keyboard.press("Tab")
        assert focused(page) | {"left": 0, "right": 0} == {"text": "Dataset", "left": 0, "right": 0, "in_sidebar": True}
    finally:
        page.close()


def test_a_button_a_rerun_removes_leaves_the_focus_on_the_tab_stop_before_it(browser, style_app):
    # Enter on the Predict page's "Clear all" removed the button, and focus fell to the page's body: the next Tab
    # started again at "Skip to main content".
    page = opened(browser, style_app, LAPTOP)
    try:
        page.get_by_role("button", name="Clear all").focus()
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Clear all").wait_for(state="detached")
        sync_api.expect(page.get_by_role("switch", name="Use the camera")).to_be_focused()
    finally:
        page.close()
