"""Which buttons a plotly chart's mode bar keeps: the app's charts and the report's curves.html alike.

A mode bar is a row of buttons, each a Tab stop (shown on focus as on hover, so displayModeBar "hover", plotly's
default, keeps them all): a keyboard user went through 8 on each chart, 34 on the Results page. Kept: download as
PNG, full screen (Streamlit's), reset axes, and on a chart a click or lasso selects in, the modes a drag can take
(zoom, pan, box, lasso). Dropped: zoom in, zoom out and autoscale (a drag zooms, a double click resets), and on a
chart without selection the zoom and pan modes (a drag zooms there anyway). Imports nothing: app_style reads it
on every page.
"""

DRAG_ZOOMS = ["zoomIn2d", "zoomOut2d", "autoScale2d"]


def chart_config(selects: bool = False) -> dict:
    """A plotly `config`: the mode bar's buttons trimmed to those a keyboard user needs (`selects`: the chart has
    on_select, so keep the modes a drag can take)."""
    return {"modeBarButtonsToRemove": DRAG_ZOOMS + ([] if selects else ["zoom2d", "pan2d"]), "displaylogo": False}
