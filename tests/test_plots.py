import numpy as np
import pandas as pd
import plotly.graph_objects as go

from glr.evaluation import plots


def history(fine_tune: bool = True) -> pd.DataFrame:
    rows = []
    for epoch in range(1, 6):
        phase = 2 if fine_tune and epoch > 3 else 1
        rows.append({"phase": phase, "epoch": epoch, "loss": 2 / epoch, "accuracy": epoch / 6, "val_loss": 2.2 / epoch,
                     "val_accuracy": epoch / 7, "val_top5": epoch / 5.5, "lr": 1e-3, "seconds": 0.5})
    return pd.DataFrame(rows)


def test_history_figure_train_and_val_with_phase_line():
    fig = plots.history_figure(history(), "loss")
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == ["train", "val"]
    assert [s.x0 for s in fig.layout.shapes] == [3.5]  # between epoch 3 (head) and 4 (fine-tune)
    assert plots.phase_boundary(history(fine_tune=False)) is None


def test_history_figure_overlays_runs():
    fig = plots.history_figure({"a": history(), "b": history(fine_tune=False)}, "accuracy")
    assert len(fig.data) == 4
    assert fig.data[0].line.color == fig.data[1].line.color != fig.data[2].line.color
    assert len(fig.layout.shapes) == 1


def test_history_figure_of_more_runs_than_ten_gives_each_run_its_own_colour():
    # The Results page compares any number of runs: with 10 colours in a cycle, run 11 took run 1's colour.
    fig = plots.history_figure({f"run {i}": history() for i in range(25)}, "loss")
    colours = [fig.data[i].line.color for i in range(0, len(fig.data), 2)]  # train and val of a run share one
    assert len(colours) == 25 and len(set(colours)) == 25


def test_history_figure_empty():
    fig = plots.history_figure(pd.DataFrame(columns=["phase", "epoch", "loss"]))
    assert len(fig.data) == 0 and fig.layout.annotations[0].text == "no training history yet"


def test_class_distribution_ranked_log():
    fig = plots.class_distribution_figure({"a": 3, "b": 40, "c": 7})
    assert len(fig.data) == 1 and fig.layout.yaxis.type == "log"
    assert list(fig.data[0].y) == [40, 7, 3] and list(fig.data[0].text) == ["b", "c", "a"]
    many = plots.class_distribution_figure(list(range(1, 5001)), log=False)
    assert isinstance(many.data[0], go.Scattergl) and many.layout.yaxis.type == "linear"


def test_confusion_figure_restricts_to_confused_classes():
    n = 100
    cm = np.diag(np.full(n, 5))
    cm[10, 20] = 4
    cm[30, 40] = 3
    names = [f"class {i}" for i in range(n)]
    fig = plots.confusion_figure(cm, names, top=6)
    assert len(fig.data) == 1
    shown = list(fig.data[0].x)
    assert len(shown) == 6 and {"class 10", "class 20", "class 30", "class 40"} <= set(shown)
    small = plots.confusion_figure(np.eye(3, dtype=int), ["a", "b", "c"])
    assert list(small.data[0].x) == ["a", "b", "c"]


def test_top_k_figure():
    fig = plots.top_k_figure(["Eiffel Tower", "Big Ben", "Taj Mahal"], [0.7, 0.2, 0.1])
    assert len(fig.data) == 1 and fig.data[0].orientation == "h"
    assert list(fig.data[0].y) == ["Eiffel Tower", "Big Ben", "Taj Mahal"]


def test_long_tail_log_axis_reads_in_full_and_a_linear_axis_starts_at_zero():
    from glr.evaluation.plots import log_ticks

    demo = plots.class_distribution_figure(dict(zip("abcdefg", [60, 45, 30, 20, 12, 8, 6])))
    axis = demo.layout.yaxis
    assert axis.type == "log" and list(axis.ticktext) == ["5", "10", "20", "50", "100"]  # not "6 5 4 3 2"
    assert log_ticks(20, 60) == [20, 30, 40, 50, 60]  # less than a decade: finer, still whole numbers
    assert log_ticks(1, 1000)[:4] == [1, 2, 5, 10]
    wonders = plots.class_distribution_figure({"a": 62, "b": 61, "c": 59})  # 62 vs 59: linear, from 0
    assert wonders.layout.yaxis.type == "linear" and wonders.layout.yaxis.rangemode == "tozero"


def test_embedding_map_gives_every_landmark_its_own_colour_and_says_so():
    points = pd.DataFrame({"x": np.arange(200.0), "y": np.arange(200.0), "name": [f"l{i % 100}" for i in range(200)],
                           "id": [str(i) for i in range(200)]})
    fig = plots.embedding_figure(points)
    colors = [t.marker.color for t in fig.data]
    assert len(colors) == 100 and len(set(colors)) == 100
    assert "one colour per landmark (100)" in fig.layout.title.text and not fig.layout.showlegend


def test_confusion_figure_cuts_long_tick_labels_and_keeps_classes_that_share_a_name_apart():
    long_name = "W" * 120
    fig = plots.confusion_figure(np.array([[2, 1, 0], [0, 3, 0], [1, 0, 2]]), [long_name, "Big Ben", "Big Ben"])
    # Two classes shown under one name were drawn as one row and one column (plotly merges categories).
    assert list(fig.data[0].x) == [long_name, "Big Ben (class 1)", "Big Ben (class 2)"]
    # A 120-character label took the heatmap's width (seen in Chromium): cut in the ticks, whole in the hover.
    assert fig.layout.xaxis.labelalias[long_name] == "W" * (plots.TICK_CHARS - 1) + "…"
    assert fig.layout.yaxis.ticktext[0] == "W" * (plots.TICK_CHARS - 1) + "…"
    assert list(fig.layout.yaxis.tickvals) == list(fig.data[0].y) and fig.layout.yaxis.autorange == "reversed"
    assert fig.data[0].hovertext[0][1] == f"true {long_name}<br>predicted Big Ben (class 1)"


def test_the_heatmaps_columns_are_labelled_as_the_width_allows_and_hovers_name_both_classes_whole():
    # At a phone's 390 px, 30 listed column labels (tickmode "array": all drawn) lay on each other (seen in Chromium):
    # plotly's own ticks keep one per ~15 px. The axes' cut names were the hover's too (ticktext and labelalias
    # apply to %{x} and %{y}), so the hover names the classes from hovertext.
    names = [f"{'Basilica of Saint ' * 3}{i}" for i in range(30)]
    cm = np.eye(30, dtype=int) * 3
    cm[0, 29] = 2
    fig = plots.confusion_figure(cm, names, clickable=True)
    assert fig.layout.xaxis.tickmode == "auto" and fig.layout.xaxis.tickvals is None
    assert set(fig.layout.xaxis.labelalias) == set(names) and list(fig.data[0].x) == names
    assert fig.data[0].hoverinfo == "skip" and fig.data[0].hovertext is None  # the click layer's hover says it
    cells = fig.data[1]
    assert [list(c) for c in cells.customdata[:2]] == [[0, 0], [0, 29]]  # the page's selection reads these
    assert cells.hovertext[1] == f"true {names[0]}<br>predicted {names[29]}"
    assert "%{x}" not in cells.hovertemplate and "%{y}" not in cells.hovertemplate
    assert fig.layout.coloraxis.colorbar.orientation is None and fig.data[0].colorbar.orientation == "h"



def test_the_heatmaps_colour_bar_counts_whole_images():
    # Up to 2 photos a cell, the bar read "0 0.5 1 1.5 2" images (Chromium).
    assert plots.confusion_figure(np.array([[2, 1], [0, 1]]), ["a", "b"]).data[0].colorbar.dtick == 1
    assert plots.confusion_figure(np.array([[90, 1], [0, 40]]), ["a", "b"]).data[0].colorbar.dtick is None


def test_class_names_with_html_show_as_written_in_the_heatmap_the_map_and_the_top_k_bars():
    import html

    names = ["<b>Red</b> Fort", "Fort & <i>Co</i>", "Big\nBen", "Big Ben", "100%{x} Tower"]
    fig = plots.confusion_figure(np.eye(5, dtype=int) + 1, names, clickable=True)
    # Plotly reads <b>, <i>, <br>, <a href> in labels and hovers: "<b>Red</b> Fort" showed as a bold "Red".
    assert list(fig.data[0].x[:2]) == ["&lt;b&gt;Red&lt;/b&gt; Fort", "Fort &amp; &lt;i&gt;Co&lt;/i&gt;"]
    # A newline made two names one after plotly's whitespace: still two rows.
    assert list(fig.data[0].x[2:4]) == ["Big Ben (class 2)", "Big Ben (class 3)"]
    assert list(fig.data[1].x[:1]) == ["&lt;b&gt;Red&lt;/b&gt; Fort"]  # the click layer sits on the same cells
    assert list(fig.layout.yaxis.tickvals) == list(fig.data[0].y)
    assert [html.unescape(t) for t in fig.layout.yaxis.ticktext[:2]] == ["<b>Red</b> Fort", "Fort & <i>Co</i>"]
    assert fig.data[1].hovertext[0] == "true &lt;b&gt;Red&lt;/b&gt; Fort<br>predicted &lt;b&gt;Red&lt;/b&gt; Fort"
    points = pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0], "name": [names[0], names[4]], "id": ["a", "b"]})
    traces = {t.name: t for t in plots.embedding_figure(points).data}
    assert set(traces) == {"100%{x} Tower", "&lt;b&gt;Red&lt;/b&gt; Fort"}
    assert traces["100%{x} Tower"].hovertemplate == "100&#37;{x} Tower<br>%{text}<extra></extra>"  # no placeholder
    assert list(plots.top_k_figure(names[:2], [0.6, 0.4]).data[0].y) == list(fig.data[0].x[:2])


def test_a_heatmap_of_thousands_of_classes_shows_the_most_confused_part_quickly():
    import time

    n = 3000
    cm = np.zeros((n, n), dtype=np.int64)
    np.fill_diagonal(cm, 2)
    cm[2999, 5], cm[17, 2999], cm[400, 401] = 4, 3, 1
    started = time.perf_counter()
    keep = plots.confused_classes(cm, 4)
    assert time.perf_counter() - started < 1.0  # an argsort of all 9 million cells took about 1 s, 2 s at 5,000
    assert keep == [5, 17, 400, 2999]  # the classes of the largest mix-ups, 2999 -> 5 first
    fig = plots.confusion_figure(cm, [f"c{i}" for i in range(n)], clickable=True, keep=keep)
    assert len(fig.to_json()) < 20_000  # the whole matrix's figure: 35 MB of JSON at 5,000 classes
    # The title a phone's 390 px can hold; which classes, under it (it was cut to "... of 100 clas").
    assert (fig.layout.title.text, fig.layout.title.subtitle.text) == ("confusion matrix",
                                                                       "the 4 most confused of 3,000 classes")
    # A click still names the cell by the classes' own indices.
    assert sorted(map(tuple, fig.data[1].customdata)) == [(5, 5), (17, 17), (17, 2999), (400, 400), (2999, 5),
                                                          (2999, 2999)]
    assert plots.shown_mistakes(cm, keep) == (7, 8) and plots.shown_mistakes(cm, [5, 2999]) == (4, 8)


def test_history_figure_leaves_out_inf_and_says_why_a_diverged_history_is_blank():
    history = pd.DataFrame({"phase": [1, 1, 1], "epoch": [1, 2, 3], "loss": [1.0, np.inf, np.nan],
                            "val_loss": [1.2, np.inf, np.nan]})
    fig = plots.history_figure(history, "loss")
    assert all(np.isfinite(pd.to_numeric(pd.Series(t.y), errors="coerce").dropna()).all() for t in fig.data)
    assert [list(pd.Series(t.y).isna()) for t in fig.data] == [[False, True, True]] * 2  # a gap, not a blank axis
    blank = plots.history_figure(history.assign(loss=np.nan, val_loss=np.nan), "loss")
    assert not blank.data and "the loss became NaN at epoch 1: the training diverged" in \
        blank.layout.annotations[0].text.replace("<br>", " ")
    assert "no training history yet" in plots.history_figure(history.iloc[:0], "loss").layout.annotations[0].text


def test_a_history_without_its_validation_column_says_which_column_is_missing():
    # The validation curve was dropped in silence: it read as a training that never validated.
    fig = plots.history_figure(history().drop(columns="val_accuracy"), "accuracy")
    assert [t.name for t in fig.data] == ["train"]
    assert fig.layout.title.subtitle.text.replace("<br>", " ") == ("history.csv has no val_accuracy column, so no "
                                                                   "validation curve")
    # As glr.training.run reads it: the column filled in blank, and named as absent.
    read = history().assign(val_loss=np.nan)
    read.attrs["absent"] = ["val_loss"]
    both = plots.history_figure({"a": read, "b": history()}, "loss")
    assert [t.name for t in both.data] == ["a", "b", "b"]
    assert "history.csv of a has no val_loss column, so no validation curve" in \
        both.layout.title.subtitle.text.replace("<br>", " ")
    assert plots.history_figure(history(), "loss").layout.title.subtitle.text is None


def test_comparing_fifty_runs_gives_one_legend_entry_per_run_and_one_fine_tune_line():
    fig = plots.history_figure({f"run {i}": history() for i in range(50)}, "loss")
    # 100 legend entries ("run 0 train", "run 0 val", ...) took the chart's height: the hover names each run's curves.
    assert fig.layout.showlegend is False and "hover a curve for its run" in fig.layout.title.subtitle.text
    assert all("run " in t.hovertemplate for t in fig.data)
    assert [t.line.dash for t in fig.data[:2]] == ["solid", "dash"]
    assert "solid: train, dashed: validation" in fig.layout.title.subtitle.text
    few = plots.history_figure({f"run {i}": history() for i in range(6)}, "loss")
    shown = [t for t in few.data if t.showlegend is not False]
    assert [t.name for t in shown] == [f"run {i}" for i in range(6)] and few.layout.showlegend is not False
    assert all(a.legendgroup == b.legendgroup for a, b in zip(few.data[::2], few.data[1::2]))  # a click hides both
    # One line where fine-tuning starts, not 50 lines and 50 "fine-tune" labels drawn over each other.
    assert len(fig.layout.shapes) == 1 and [a.text for a in fig.layout.annotations] == ["fine-tune"]
    assert fig.layout.hovermode == "closest"  # a unified hover listed 100 lines


def test_figures_set_no_template_of_their_own_and_the_report_writes_plotly_white(tmp_path):
    # plotly_white set on each figure cost about 8-20 ms per figure at every rerun of the Results page; in the app
    # Streamlit's theme restyles the figure anyway (screenshots pixel-identical), so only a file gets it.
    import plotly.io as pio
    from glr.evaluation import report

    default = pio.templates.default
    for fig in (plots.history_figure(history()), plots.confusion_figure(np.eye(3, dtype=int), ["a", "b", "c"]),
                plots.class_distribution_figure({"a": 3, "b": 4})):
        assert fig.layout.template == pio.templates[default]  # plotly's default, set without a copy
    html = report.write_curves_html(history(), tmp_path / "curves.html", include_plotlyjs=False).read_text()
    assert '"plot_bgcolor":"white"' in html  # plotly_white, not plotly's grey default, in a file read on its own


def test_the_top_k_bars_hover_says_a_tiny_share_as_their_label_does():
    # The label said "under 0.1%" while plotly's own "%{x:.1%}" in the hover said "0.0%" of the same bar.
    fig = plots.top_k_figure(["Eiffel Tower", "Big Ben"], [0.9996, 0.0004])
    assert list(fig.data[0].text) == ["over 99.9%", "under 0.1%"]
    assert "%{text}" in fig.data[0].hovertemplate and "%{x" not in fig.data[0].hovertemplate


def test_the_maps_legend_cuts_long_names_with_an_ellipsis_tells_them_apart_and_hovers_them_whole():
    # A 60-character Wikimedia category was chopped mid-word at the legend's edge, with no sign of the cut.
    long = "Category:Basilica of Our Lady of the Assumption in the old town of "
    # The last two: an old run's look-alike classes as glr.data.class_names tells them apart, by their ends only.
    names = [long + "Alpha", long + "Beta", "Big Ben", "Big Ben " + long + "(landmark 12)", "Big Ben " + long + "(landmark 13)"]
    points = pd.DataFrame({"x": np.arange(5.0), "y": np.arange(5.0), "name": names, "id": list("abcde")})
    traces = plots.embedding_figure(points).data
    legend = [t.name for t in traces]
    assert len(set(legend)) == 5 and all(len(n) <= plots.TICK_CHARS for n in legend)
    assert "Big Ben" in legend and all(n.count("…") == 1 for n in legend if n != "Big Ben")
    assert any(n.endswith("town of Alpha") for n in legend) and any(n.endswith("(landmark 13)") for n in legend)
    hovers = {t.hovertemplate.split("<br>")[0] for t in traces}
    assert hovers == set(names)  # the whole name, as the legend cannot
    # The heatmap's cut tick labels are told apart the same way.
    fig = plots.confusion_figure(np.eye(2, dtype=int), names[:2])
    assert len(set(fig.layout.yaxis.ticktext)) == 2 and len(set(fig.layout.xaxis.labelalias.values())) == 2
    assert plots.short_labels(["x" * 30 + "a" + "y" * 30, "x" * 30 + "b" + "y" * 30]) == [
        "x" * 23 + "… #1", "x" * 23 + "… #2"]  # alike at both ends: numbered


def test_importing_plots_imports_no_scipy():
    # plots.py imported glr.evaluation.confusion at its top, and with it scipy.sparse (0.2 s): the Dataset page draws
    # plots but never a confusion matrix. A figure of one imports it when drawn (the tests above).
    import subprocess
    import sys

    code = "import sys; from glr.evaluation import plots; print([m for m in ('scipy', 'sklearn') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
