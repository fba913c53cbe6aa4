"""Plotly figures shared by the Streamlit pages and the HTML report.

Pure functions: data in, `go.Figure` out, no file or Streamlit access, so a page calls
`st.plotly_chart(history_figure(df))` and the report calls `fig.to_html()` on the same figure.

The figures set no template: in the app they take Streamlit's (plotly's default once Streamlit is imported, set
without being checked again), which its theme restyles anyway; the few settings of plotly_white that still showed
(tick marks, the colour bar's outline, the zero line's width) are set where they show, so the Results page is
pixel-identical. Setting plotly_white cost each figure 8-27 ms (its template checked again), at every rerun of the
Results page and every poll of a training. A file read outside the app gets FILE_TEMPLATE (glr.evaluation.report).
"""

from __future__ import annotations

import html
import textwrap
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from glr.evaluation import readout

FILE_TEMPLATE = "plotly_white"  # for figures written to a file: plotly's own default is grey
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
LOG_SPAN = 5  # counts spanning this factor or more get a log axis by default
LEGEND_RUNS = 6  # compared runs with a legend entry each; more get their names from the hover
SUBTITLE_CHARS = 44  # a line under a chart's title: a curve's half of a 1280 px window, or a phone, holds it
BAR_LIMIT = 2000  # above this many classes a bar chart becomes slow; draw a line instead


def _empty(title: str, message: str) -> go.Figure:
    """A blank figure that says why it is blank, instead of empty axes."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5, font={"size": 14})
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False})
    return fig


def phase_boundary(history: pd.DataFrame) -> float | None:
    """The x position between the last head epoch (phase 1) and the first fine-tune epoch, or None."""
    if history is None or "phase" not in history or "epoch" not in history:
        return None
    later = history.loc[history["phase"] > history["phase"].min(), "epoch"]
    return None if later.empty else float(later.min()) - 0.5


def history_figure(history: pd.DataFrame | Mapping[str, pd.DataFrame], metric: str = "loss") -> go.Figure:
    """Training curves of `metric` ("loss", "accuracy", ...) per epoch: train solid, validation dashed.

    `history` is one run's history or a dict run name -> history for an overlay; each run keeps one colour
    and one legend entry (a click hides both its curves). A dotted vertical line marks where fine-tuning
    (phase 2) starts, once per epoch it starts at. A curve whose column the file lacks is named under the title.
    """
    runs = dict(history) if isinstance(history, Mapping) else {"": history}
    several = len(runs) > 1
    title = metric.replace("_", " ")
    traces, boundaries, missing = [], {}, {}
    colors = class_colors(len(runs))  # one per run, however many are compared: a cycle of 10 gave run 11 run 1's
    for color, (run, df) in zip(colors, runs.items()):
        if df is None or df.empty:
            continue
        absent = set(df.attrs.get("absent", ()))  # glr.training.run fills a column the file lacks in, blank
        for column, label, dash in [(metric, "train", "solid"), (f"val_{metric}", "val", "dash")]:
            if column not in df or column in absent:
                missing.setdefault(column, []).append(run)
                continue
            values = pd.to_numeric(df[column], errors="coerce")
            if np.isfinite(values.to_numpy(dtype=float)).any():
                # Several runs: one legend entry per run (100 entries for 50 runs could not be read), the line
                # style tells train from validation, and the hover names both.
                extra = {"name": run, "legendgroup": run, "showlegend": dash == "solid" or not any(
                    t.get("legendgroup") == run for t in traces),
                         "hovertemplate": f"{label}, epoch %{{x}}: %{{y:.4g}}<extra>{_literal(run).replace('%', '&#37;')}"
                                          "</extra>"} if several else {"name": label}
                # Plain dicts and arrays, checked once by the figure: each trace was checked twice, its Series converted.
                traces.append(dict(
                    # inf (a diverging loss) left in would stretch the axis until every real point is flat
                    type="scatter", x=df["epoch"].to_numpy(), y=values.where(np.isfinite(values)).to_numpy(),
                    mode="lines+markers", line={"color": color, "dash": dash}, marker={"size": 5}, **extra))
        boundary = phase_boundary(df)
        if boundary is not None:
            boundaries.setdefault(boundary, []).append(color)
    notes = [_missing_note(column, names, several) for column, names in missing.items()]
    if not traces:
        from glr.training.run_table import divergence  # a loss of NaN from the first epoch draws no point

        said = next((f"{run + ': ' if run else ''}{note}" for run, df in runs.items() if (note := divergence(df))), "")
        said = said or ("; ".join(notes) if notes and any(df is not None and len(df) for df in runs.values()) else "")
        return _empty(title, "<br>".join(textwrap.wrap(said, 60)) if said else "no training history yet")
    fig = go.Figure(traces)
    # One line per epoch fine-tuning starts at (in its run's colour when it is one run's): a line and a label per
    # run drew 50 labels over each other, and add_vline rebuilt the layout each time (3.5 s for 50 runs).
    fig.update_layout(
        shapes=[{"type": "line", "x0": x, "x1": x, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
                 "line": {"color": c[0] if len(set(c)) == 1 else "#888888", "dash": "dot", "width": 1}}
                for x, c in boundaries.items()],
        annotations=[{"text": "fine-tune", "x": x, "xref": "x", "y": 1, "yref": "y domain", "xanchor": "left",
                      "yanchor": "top", "showarrow": False} for x in boundaries])
    legend = len(runs) <= LEGEND_RUNS  # past that, the legend took the chart's height: the hover names the run
    if several:
        notes[:0] = ["solid: train, dashed: validation"] + ([] if legend else ["hover a curve for its run"])
    # Lines a chart half a window wide (or a phone's) holds: at 70 characters they were cut at its edge.
    subtitle = "<br>".join(line for note in notes for line in textwrap.wrap(note, SUBTITLE_CHARS))
    fig.update_layout(title={"text": title, "subtitle": {"text": subtitle or None}}, xaxis_title="epoch",
                      yaxis_title=title, showlegend=legend if several else None,
                      legend={"orientation": "h", "y": -0.3 if several else -0.2},  # under the axis title
                      hovermode="closest" if len(runs) > 4 else "x unified",
                      margin={"t": 100 + 16 * subtitle.count("<br>")} if "<br>" in subtitle else None)
    return fig


def _missing_note(column: str, runs: list[str], several: bool) -> str:
    """"history.csv of run a has no val_loss column, so no validation curve": a curve the file cannot draw."""
    which = "validation" if column.startswith("val_") else "training"
    names = ", ".join(_literal(r) for r in runs[:2]) + (f" and {len(runs) - 2} more" if len(runs) > 2 else "")
    return f"history.csv{f' of {names}' if several else ''} has no {column} column, so no {which} curve"


def class_distribution_figure(counts: Mapping[str, int] | pd.Series | Sequence[int], log: bool | None = None) -> go.Figure:
    """Images per class, classes ranked from most to fewest: the long tail at a glance.

    `counts` maps class name -> image count (a dict or Series), or is a plain list of counts.
    `log`: a log axis; None (the default) picks it when the counts span a factor of `LOG_SPAN` or
    more, and a linear axis from 0 otherwise (a log axis makes 62 against 59 look like a big gap).
    """
    series = pd.Series(counts, dtype="float64") if not isinstance(counts, pd.Series) else counts.astype("float64")
    if series.empty:
        return _empty("images per class", "no classes")
    series = series.sort_values(ascending=False, kind="stable")
    if log is None:
        log = use_log_scale(series)
    rank = np.arange(1, len(series) + 1)
    names = [str(i) for i in series.index]
    hover = "rank %{x}: %{text}<br>%{y:.0f} images<extra></extra>"
    if len(series) <= BAR_LIMIT:
        trace = go.Bar(x=rank, y=series.to_numpy(), text=names, hovertemplate=hover, textposition="none", marker_color=COLORS[0],
                       marker_line={"color": "white", "width": 0.5})  # each bar outlined, as plotly_white drew it
    else:
        trace = go.Scattergl(x=rank, y=series.to_numpy(), text=names, hovertemplate=hover, mode="lines", line={"color": COLORS[0]})
    fig = go.Figure(trace)
    median = float(series.median())
    if log:
        # Plotly labels a log axis spanning less than a decade with bare digits ("6 5 4 3 2 10 9 8"):
        # say every tick in full, at 1-2-5 steps.
        ticks = log_ticks(float(series[series > 0].min()) if (series > 0).any() else 1.0, float(series.max()))
        yaxis = {"type": "log", "tickmode": "array", "tickvals": ticks, "ticktext": [f"{t:,g}" for t in ticks],
                 "range": [np.log10(ticks[0]), np.log10(ticks[-1])]}
    else:
        yaxis = {"type": "linear", "rangemode": "tozero"}  # bars measured from 0: 62 vs 59 is not a fivefold gap
    fig.update_layout(
        title=f"images per class ({len(series):,} classes, median {median:g})",
        xaxis_title="class rank", yaxis_title="images" + (" (log scale)" if log else ""),
        yaxis=yaxis, bargap=0,
    )
    return fig


def use_log_scale(counts: pd.Series | Sequence[float]) -> bool:
    """Whether images-per-class counts need a log axis: they span a factor of LOG_SPAN or more."""
    values = np.asarray(counts, dtype=float)
    values = values[values > 0]
    return bool(values.size) and values.max() / values.min() >= LOG_SPAN


def log_ticks(low: float, high: float) -> list[float]:
    """Tick values at 1-2-5 steps covering [low, high], with one step either side; finer steps for a short span."""
    low, high = max(low, 1e-9), max(high, low)
    steps = (1, 2, 5) if high / low > 3 else (1, 1.5, 2, 3, 4, 5, 6, 8)
    ticks = []
    for power in range(int(np.floor(np.log10(low))) - 1, int(np.ceil(np.log10(high))) + 1):
        ticks += [m * 10.0 ** power for m in steps]
    below = [t for t in ticks if t <= low]
    above = [t for t in ticks if t >= high]
    return [float(f"{t:.6g}") for t in ticks
            if (below and t >= below[-1]) and (above and t <= above[0])]


def confused_classes(cm: Any, top: int) -> list[int]:
    """Up to `top` class indices worth showing: those in the largest off-diagonal cells first,
    then the best-supported classes, so a near-perfect model still gets a useful matrix.

    `cm` is sparse (glr.evaluation.confusion) or dense; only its non-empty cells are sorted: a matrix holds
    at most one mistake per validation photo, thousands of cells, not the 81,000 x 81,000 of GLDv2-clean.
    """
    from glr.evaluation import confusion  # scipy.sparse, 0.2 s: the Dataset page draws plots but no matrix

    rows, cols, data = confusion.cells(cm, off_diagonal=True)
    order = np.lexsort((cols, rows, -data))  # ties: row-major order
    chosen: dict[int, None] = {}  # insertion-ordered set
    for r, c in zip(rows[order], cols[order]):
        for i in (int(r), int(c)):
            if len(chosen) < top:
                chosen.setdefault(i)
        if len(chosen) >= top:
            break
    if len(chosen) < top:
        for c in np.argsort(-confusion.true_totals(cm), kind="stable"):
            if len(chosen) >= top:
                break
            chosen.setdefault(int(c))
    return sorted(chosen)


def shown_mistakes(cm: Any, keep: Sequence[int]) -> tuple[int, int]:
    """(mistakes in the cells among the classes `keep`, all mistakes): how much of the matrix a cut heatmap shows."""
    from glr.evaluation import confusion  # scipy: only for a matrix (confused_classes)

    sub = confusion.block(cm, keep)
    return int(sub.sum() - np.trace(sub)), confusion.mistakes(cm)


def confusion_figure(cm: Any, labels: Sequence[str], top: int = 30,
                     clickable: bool = False, keep: Sequence[int] | None = None) -> go.Figure:
    """Heatmap of the confusion matrix (rows true, columns predicted), limited to `top` classes.

    A 100 x 100 matrix is unreadable and almost all zeros (a whole 5,000-class one is 35 MB of
    figure JSON), so it shows the classes involved in the largest mix-ups: `keep`, the class indices
    to show, else `confused_classes(cm, top)`; only their block is made dense. `cm` is sparse
    (glr.evaluation.confusion) or dense; `labels` are the class names in class-index order.
    `clickable` adds a layer a click selects, one marker per non-empty cell (for a page's on_select).
    """
    from glr.evaluation import confusion  # scipy: only for a matrix (confused_classes)

    n = confusion.size(cm)
    if n == 0:
        return _empty("confusion matrix", "no predictions yet")
    if keep is None:
        keep = list(range(n)) if n <= top else confused_classes(cm, top)
    keep = [int(i) for i in keep]
    raw = _unique_names([" ".join(str(labels[i]).split()) for i in keep], keep)  # one line, then told apart
    names = [_literal(name) for name in raw]
    sub = confusion.block(cm, keep)
    fig = go.Figure(go.Heatmap(z=sub, x=names, y=names, colorscale="Blues", hoverongaps=False,
                               # Across the top, not beside: on a phone its 60 px were a third of the heatmap's width.
                               colorbar={"outlinewidth": 0, "ticks": "",  # as plotly_white drew it
                                         "orientation": "h", "y": 1.0, "yanchor": "bottom", "thickness": 12,
                                         "title": {"text": "images", "side": "right"},
                                         # whole counts: plotly's own steps read 0.5 and 1.5 images under 6
                                         **({"dtick": 1} if sub.size and sub.max() <= 6 else {})},
                               # The whole names: %{x} and %{y} are the cut ones the axes show (labelalias, ticktext).
                               hovertext=None if clickable else [[_pair(t, p) for p in names] for t in names],
                               hovertemplate="%{hovertext}<br>%{z} images<extra></extra>"))
    if clickable:
        _add_cell_markers(fig, sub, names, keep)
    # Which classes, under the title: in one line a phone's 390 px cut it to "... of 100 clas".
    which = None if len(keep) == n else f"the {len(keep)} most confused of {n:,} classes"
    fig.update_layout(
        title={"text": "confusion matrix", "subtitle": {"text": which}}, xaxis_title="predicted", yaxis_title="true",
        # 18 px a row, and room for the column labels, which a narrow chart turns upright (7 px a character):
        # 400 px in all held 8 rows in 60 px on a phone, their labels on each other.
        height=18 * len(keep) + 260 + 7 * max(len(_short(n)) for n in raw),
        # Short tick labels, the full names in the hover: one 120-character name took the width of the heatmap.
        # The columns: as many labels as fit the width the browser gives (a phone's 390 px drew 30 on each other).
        xaxis=_aliased_ticks(raw), yaxis={"autorange": "reversed", **_short_ticks(raw)},
    )
    return fig


TICK_CHARS = 28  # a confusion heatmap's tick labels are cut to this; its hover shows the whole name


def _short(name: str, chars: int = TICK_CHARS) -> str:
    """`name` cut to `chars` characters, "…" ending a cut one."""
    return name if len(name) <= chars else name[:chars - 1] + "…"


def short_labels(names: Sequence[str], chars: int = TICK_CHARS) -> list[str]:
    """Each of `names` cut to `chars` characters with "…", told apart: names that cut alike keep their ends instead.

    Two Wikimedia categories that differ only at the end ("... in Alpha", "... in Beta"), or an old run's look-alike
    classes told apart by a suffix ("Big Ben (landmark 12)", glr.data.class_names), read the same cut at the end.
    """
    short = [_short(n, chars) for n in names]
    alike = {s for s in short if short.count(s) > 1}
    tail = chars // 2  # the end the names differ in: "(landmark 12)", "old town of Alpha"
    short = [f"{n[:chars - 1 - tail]}…{n[-tail:]}" if s in alike and s != n else s for n, s in zip(names, short)]
    alike, seen = {s for s in short if short.count(s) > 1}, {}
    for i, s in enumerate(short):  # alike at both ends too: numbered, the whole names are in the hover
        if s in alike:
            seen[s] = seen.get(s, 0) + 1
            short[i] = f"{_short(names[i], chars - 4)} #{seen[s]}"
    return short


def _aliased_ticks(names: list[str]) -> dict:
    """Axis settings that let plotly choose which of the categories `names` (as written) to label, each cut to
    TICK_CHARS characters: plotly leaves one label per ~15 px of a category axis (its font's height) and turns
    them upright when they would touch, measured in the browser, so a 390 px phone shows every few columns' name
    and a laptop all of them. Listed ticks (tickmode "array") are all drawn, whatever the width."""
    return {"tickmode": "auto", "ticks": "",  # no tick marks, as plotly_white drew it
            "labelalias": {_literal(n): _literal(t) for n, t in zip(names, short_labels(names)) if t != n}}


def _short_ticks(names: list[str]) -> dict:
    """Axis settings that label the categories `names` (as written) with at most TICK_CHARS characters each."""
    text = short_labels(names)
    return {"tickmode": "array", "tickvals": [_literal(n) for n in names], "ticktext": [_literal(t) for t in text],
            "ticks": ""}  # no tick marks, as plotly_white drew it


def _literal(text: str) -> str:
    """`text` as plotly shows it literally: plotly reads <b>, <i>, <a href>, <br> in any label or hover, and
    decodes HTML entities, so a class named "<b>Fort</b>" showed as a bold "Fort". One line, too."""
    return html.escape(" ".join(str(text).split()), quote=False)


def _unique_names(names: list[str], indices: list[int]) -> list[str]:
    """Category names for a heatmap's axes: a name two classes share ("Big_Ben" and "Big Ben" are both
    shown as "Big Ben") gets its class index, or plotly would draw the two classes as one row."""
    seen = {n for n in names if names.count(n) > 1}
    return [f"{n} (class {i})" if n in seen else n for n, i in zip(names, indices)]


def _pair(true: str, predicted: str) -> str:
    """A confusion cell's hover: its two classes' whole names (as plotly shows text literally), one a line."""
    return f"true {true}<br>predicted {predicted}"


def _add_cell_markers(fig: go.Figure, sub: np.ndarray, names: list[str], keep: list[int]) -> None:
    """An invisible square marker on each non-empty cell of a confusion heatmap, which a click selects.

    Streamlit reports no selection on a heatmap trace (streamlit#8760), but does on markers.
    Each marker's customdata is [true, predicted] class index (glr.evaluation.compare.selected_cells).
    """
    fig.update_traces(hoverinfo="skip", hovertemplate=None)  # the markers' hover says it, and "click"
    rows, cols = np.nonzero(sub)
    fig.add_trace(go.Scatter(
        x=[names[c] for c in cols], y=[names[r] for r in rows], mode="markers", showlegend=False,
        marker={"symbol": "square", "size": max(8, min(40, 560 // max(1, len(keep)))), "color": "rgba(0,0,0,0)"},
        customdata=[[keep[r], keep[c]] for r, c in zip(rows, cols)], text=[str(v) for v in sub[rows, cols]],
        hovertext=[_pair(names[r], names[c]) for r, c in zip(rows, cols)],  # %{x}, %{y}: the axes' cut names
        hovertemplate="%{hovertext}<br>%{text} images: click to see them<extra></extra>",
        selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}},
    ))
    fig.update_layout(clickmode="event+select")


def top_k_figure(names: Sequence[str], probs: Sequence[float]) -> go.Figure:
    """Horizontal bars of one prediction's top-k classes, best on top."""
    fig = go.Figure(
        go.Bar(
            x=list(probs), y=[_literal(n) for n in names], orientation="h", marker_color=COLORS[0],
            text=[readout.percent(p, 1) for p in probs], textposition="auto",
            # The label's words: plotly's own ".1%" said "0.0%" of a bar labelled "under 0.1%".
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis={"range": [0, 1], "tickformat": ".0%", "title": "probability"},
        yaxis={"autorange": "reversed"},
        height=120 + 40 * len(names), margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return fig


def class_colors(n: int) -> list[str]:
    """`n` distinct colours: the 10 usual ones, then hues a golden angle apart at three lightnesses.

    With 100 landmarks, the 10-colour cycle gave ten classes each colour, so clusters could
    not be told apart.
    """
    import colorsys

    colors = COLORS[:n]
    for i in range(n - len(colors)):
        hue = (i * 0.618033988749895) % 1.0
        light, sat = (0.45, 0.35, 0.6)[i % 3], (0.75, 0.9, 0.65)[(i // 3) % 3]
        r, g, b = colorsys.hls_to_rgb(hue, light, sat)
        colors.append(f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}")
    return colors


def embedding_figure(points: pd.DataFrame, max_legend: int = 30) -> go.Figure:
    """A 2-D embedding map: one colour per landmark, the photo's name and id on hover.

    `points` has x, y, name, id (from `glr.retrieval.run_index.embedding_map`). Each point's row
    number travels as customdata, so a page can show the photo of a selected point.
    """
    if points is None or points.empty:
        return _empty("Embedding map", "no embeddings")
    groups = list(points.groupby("name", sort=True))
    colors = class_colors(len(groups))
    # The legend's names cut with "…" and told apart (a 60-character category was chopped mid-word at its edge);
    # the hover says the whole name.
    legend_names = short_labels([" ".join(str(name).split()) for name, _ in groups])
    # Plain dicts and arrays, checked once by the figure: add_trace per landmark re-checked the figure each time.
    fig = go.Figure([dict(
        type="scattergl", x=group["x"].to_numpy(), y=group["y"].to_numpy(), mode="markers", name=_literal(short),
        marker={"size": 7, "opacity": 0.8, "color": color},
        customdata=group.index.to_numpy(), text=group["id"].astype(str).to_numpy(),
        # The name in the template itself: escaped, and its "%{" cannot start a placeholder.
        hovertemplate=f"{_literal(name).replace('%', '&#37;')}<br>%{{text}}<extra></extra>",
    ) for (name, group), color, short in zip(groups, colors, legend_names)])
    legend = len(groups) <= max_legend
    title = (f"one colour per landmark ({len(groups)})" + ("" if legend else ": hover a point for its name, "
             "click or lasso to see the photos"))
    fig.update_layout(
        title={"text": title, "font": {"size": 13}}, height=560, showlegend=legend,
        xaxis={"showticklabels": False, "title": None, "zerolinewidth": 2},  # as plotly_white drew it
        yaxis={"showticklabels": False, "title": None, "zerolinewidth": 2},
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, dragmode="lasso" if len(points) < 5000 else "zoom",
    )
    return fig
