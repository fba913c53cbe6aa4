"""app_style: the style rules Streamlit has no setting for. What they do in a browser is measured in
test_browser_layout.py; these check the sizes and rules without one."""

from __future__ import annotations

import app_style
from glr.evaluation import plots


def test_the_heatmaps_width_grows_with_its_columns_and_never_makes_a_laptop_scroll():
    assert app_style.TICK_CHARS == plots.TICK_CHARS  # its labels are cut where plots cuts them
    assert app_style.heatmap_width(3, 11) < 390 - 2 * 16  # a few classes fit a phone: no scrolling
    assert app_style.heatmap_width(30, 28) == app_style.heatmap_width(30, 120)  # a long name is cut to 28
    assert app_style.heatmap_width(10, 10) < app_style.heatmap_width(20, 10)
    assert app_style.heatmap_width(60, 28) == app_style.HEATMAP_MAX_WIDTH < 820  # 1280 px gives the chart 820


def test_only_the_keyed_box_scrolls_sideways_and_the_rules_use_test_ids_not_generated_classes():
    rules = app_style.sideways_rules("results_confusion_box", 540.7)
    assert ".st-key-results_confusion_box { overflow-x: auto; }" in rules and "min-width: 540px" in rules
    assert "st-emotion-cache" not in app_style.RULES and 'data-testid="stSidebar"' in app_style.RULES


def test_a_row_of_tabs_too_wide_for_a_phone_wraps_instead_of_scrolling_its_last_tabs_out_of_view():
    # At 320 px the Results page's five tabs were 373 px in a 288 px row: "Map" sat out of view behind an arrow
    # (measured in chromium). A rule on Streamlit's test id and the tab list's role, not its generated classes.
    assert app_style.TABS_WRAP in app_style.RULES
    assert app_style.TABS_WRAP.startswith('[data-testid="stTabs"] [role="tablist"]') and "flex-wrap: wrap" in app_style.TABS_WRAP


def test_a_charts_mode_bar_keeps_the_png_download_and_drops_the_tab_stops_a_drag_or_double_click_does():
    # Each of plotly's mode bar buttons is a Tab stop: a keyboard user went through 8 on every chart (10 on the map).
    plain, selecting = app_style.chart_config(), app_style.chart_config(selects=True)
    for config in (plain, selecting):
        assert {"zoomIn2d", "zoomOut2d", "autoScale2d"} <= set(config["modeBarButtonsToRemove"])
        assert not {"toImage", "resetScale2d", "lasso2d", "select2d"} & set(config["modeBarButtonsToRemove"])
    assert {"zoom2d", "pan2d"} <= set(plain["modeBarButtonsToRemove"])  # a drag zooms anyway
    assert not {"zoom2d", "pan2d"} & set(selecting["modeBarButtonsToRemove"])  # a drag selects: its modes stay
