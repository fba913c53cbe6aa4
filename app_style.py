"""The few style rules the app needs that Streamlit 1.67 has no setting for, and a chart that scrolls sideways.

Each rule names Streamlit's data-testid attributes (its test hooks, stable across releases), never its generated
class names. The browser tests (test_browser.py) measure what each rule is for, so a Streamlit upgrade that renames a
hook fails there rather than quietly bringing the fault back.
"""

from __future__ import annotations

import streamlit as st

# The plotly mode bar's buttons trimmed for keyboard users; the pages call app_style.chart_config.
from glr.evaluation.mode_bar import DRAG_ZOOMS, chart_config  # noqa: F401

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
# A select box shows its value in an <input>, which cannot wrap: at 320 px "20261206-195712-efficientnet_lite0
# (finished)" was cut after "lite0" with no sign of it, and its list cut each option the same way (overflow hidden).
# The value now ends in "…" (its whole text is read out, and shown as a tooltip by TOUCH_AND_FOCUS_SCRIPT), and a
# list of up to 25 options (Streamlit's plain list) wraps each option onto more lines. A longer list is virtualised
# in rows of a fixed height: its options end in "…", and typing a few letters narrows it to a plain list, which wraps.
SELECT_VALUE_ELLIPSIS = '[data-testid="stSelectbox"] input { text-overflow: ellipsis; }'
SELECT_OPTIONS_WRAP = (  # a plain list's options are the listbox's children; a virtualised one's sit in row boxes
    '[data-testid="stSelectboxVirtualDropdown"] [role="listbox"] > [role="option"] { height: auto; min-height: 2.5rem; } '
    '[data-testid="stSelectboxVirtualDropdown"] [role="listbox"] > [role="option"] > div { height: auto; '
    'white-space: normal; overflow-wrap: anywhere; } '
    '[data-testid="stSelectboxVirtualDropdown"] [role="option"] > div { text-overflow: ellipsis; }')
# A row of tabs wider than the page (the Results page's five at 320 px, a phone) scrolled sideways, its last tabs out of
# view behind a small arrow: they wrap onto a second row instead. Where they fit (a laptop), nothing changes.
TABS_WRAP = '[data-testid="stTabs"] [role="tablist"] { flex-wrap: wrap; row-gap: 0; }'
RULES = "\n".join([SIDEBAR_HIDDEN_WHEN_COLLAPSED, IMAGE_ROW_GAP, UPLOAD_TYPES_WRAP, SELECT_VALUE_ELLIPSIS,
                   SELECT_OPTIONS_WRAP, TABS_WRAP])

# What CSS cannot do, in one guarded script (it runs once per browser tab however often the page reruns):
# - Touch over a plotly chart. Streamlit sets dragmode "pan" on a chart with on_select (a falsy dragmode in the figure
#   is overridden), and plotly.js then cancels every touchstart on it: a swipe over the confusion heatmap panned the
#   chart and never scrolled the page (plotly.js#2844, #6609), and a tap never selected a cell (no hover comes
#   before a touch). For the length of one touch the chart's dragmode is false, which plotly.js reads when the touch
#   starts: the browser scrolls the page; a hover is sent where the finger lands, so a tap selects that cell; the
#   tap's emulated mouse events, which would select it a second time (and so unselect it), are cancelled.
# - A select box's value cut by its width gets the whole value as its tooltip (title) when the pointer is over it.
# - Enter or Space on the button that opens the collapsed sidebar (a phone) hides that button, and focus fell to
#   the page's body: the next Tab skipped the sidebar. Focus moves to the sidebar's first link once it is open.
# - A button that a rerun removes (Clear all, Delete the run) took the focus with it: it fell to the page's body and
#   the next Tab started again at the top of the page. Focus moves to the Tab stop that came before it.
# - st.code is a Tab stop (tabindex 0, so a keyboard can scroll it) with no role or name: a screen reader said
#   nothing useful. Each is a region named after its expander ("train.log (last lines)", "Traceback"); st.code has
#   no parameter for it (st.dataframe and st.plotly_chart take `alt`, which the pages give).
TOUCH_AND_FOCUS_SCRIPT = """<script>
(() => {
  if (window.glrAppScript) return;
  window.glrAppScript = true;
  // Only a chart's drag surfaces (the plot area, its axes): its mode bar and legend keep their own taps.
  const chart = t => (t && t.closest && t.closest('.drag') ? t.closest('.js-plotly-plot') : null);
  document.addEventListener('touchstart', e => {
    const gd = chart(e.target);
    if (!gd || !gd._fullLayout || e.touches.length !== 1) return;
    gd.glrDragmode = gd._fullLayout.dragmode;
    gd._fullLayout.dragmode = false;
    const t = e.touches[0];
    e.target.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: t.clientX, clientY: t.clientY}));
  }, {capture: true, passive: true});
  const touchEnds = e => {
    const gd = chart(e.target);
    if (!gd || !('glrDragmode' in gd)) return;
    if (gd._fullLayout) gd._fullLayout.dragmode = gd.glrDragmode;
    delete gd.glrDragmode;
    if (e.cancelable) e.preventDefault();
  };
  document.addEventListener('touchend', touchEnds, {capture: true, passive: false});
  document.addEventListener('touchcancel', touchEnds, {capture: true, passive: false});
  document.addEventListener('mouseover', e => {
    const box = e.target.closest && e.target.closest('[data-testid="stSelectbox"] input');
    if (box) box.title = box.scrollWidth > box.clientWidth ? box.value : '';
  }, true);
  document.addEventListener('keydown', e => {
    if ((e.key !== 'Enter' && e.key !== ' ') || !e.target.closest('[data-testid="stExpandSidebarButton"]')) return;
    const open = '[data-testid="stSidebar"][data-collapsed="false"] [data-testid="stSidebarUserContent"] ';
    let tries = 0;
    const focusSidebar = () => {
      const link = document.querySelector(open + 'a, ' + open + 'button');
      if (link) link.focus(); else if (++tries < 40) setTimeout(focusSidebar, 25);
    };
    setTimeout(focusSidebar, 0);
  }, true);
  const nameCode = () => document.querySelectorAll('[data-testid="stCode"]:not([aria-label])').forEach(code => {
    const summary = code.closest('details') && code.closest('details').querySelector('summary');
    const lines = summary ? summary.innerText.trim().split('\\n') : [];
    code.setAttribute('role', 'region');
    code.setAttribute('aria-label', lines.length ? lines[lines.length - 1].trim() : 'Text');
  });
  const TABBABLE = 'a[href], button:not([disabled]), input:not([disabled]), [tabindex="0"], summary';
  let focused = null, before = null;  // the focused element, and the Tab stop before it
  document.addEventListener('focusin', e => {
    const stops = [...document.querySelectorAll(TABBABLE)];
    focused = e.target;
    before = stops[stops.indexOf(e.target) - 1] || null;
  });
  const keepFocus = () => {
    if (focused && !focused.isConnected && document.activeElement === document.body && before && before.isConnected) {
      before.focus();
    }
  };
  let queued = false;
  new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; nameCode(); keepFocus(); }); }
  }).observe(document.body, {childList: true, subtree: true});
})();
</script>"""


def apply() -> None:
    """Add the app's style rules and its script to the page (neither takes room: Streamlit puts them out of the
    layout)."""
    st.html(f"<style>{RULES}</style>")
    st.html(TOUCH_AND_FOCUS_SCRIPT, unsafe_allow_javascript=True)


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
