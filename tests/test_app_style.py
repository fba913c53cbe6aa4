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
