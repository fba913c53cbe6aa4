"""Results: one run or several side by side, in tabs: overview (metrics, curves, report, exports), classes,
mistakes (with the confusion heatmap whose cells open their photos), retrieval and the embedding map."""

import sys
from pathlib import Path

# `streamlit run app.py` puts the app's folder on sys.path; AppTest, and a page run on its own, do not.
# glr and app_common live there.
if (_root := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _root)

import streamlit as st

from glr import export
from glr.evaluation import compare
from glr.evaluation import confusion as confusion_file  # `confusion` below is the run's matrix
from glr.training import run_table
from glr.evaluation import finish
from glr.evaluation import metrics
from glr.evaluation import plots
from glr.evaluation import readout
from glr.evaluation import report
from glr.data.layouts import plural
from glr.retrieval import run_index
from glr.training.run import Run
from glr.training.status import ACTIVE_STATES
from glr.errors import GlrError
import app_common as common
import app_runs
import app_style
from app_photos import photo_grid

common.setup(common.RESULTS)

READ_ERRORS = (GlrError, OSError, ValueError, KeyError, IndexError)  # a damaged run file: say which, never a traceback
PROJECTIONS = {"PCA": "pca", "t-SNE": "tsne"}
PROJECTION_HELP = ("PCA is instant and keeps the overall distances, so classes overlap in one cloud. t-SNE keeps each "
                   "photo's nearest neighbours, so every landmark shows as its own cluster; it takes a few seconds to "
                   "a minute for a couple of thousand photos here.")
EXPORT_LABELS = {"keras": "Keras (.keras)", "savedmodel": "TensorFlow SavedModel", "tflite": "TFLite / LiteRT",
                 "onnx": "ONNX"}
# A class name's column at most "medium": sized to a 120-character name, it pushed the scores out of view.
NAME_COLUMN = st.column_config.TextColumn("name", width="medium")


@st.cache_data(max_entries=4, show_spinner="Projecting the embeddings...")
def embedding_points(run_path: str, stamp: float, method: str):
    """The run's 2-D embedding map (recomputed when retrieval.json changes)."""
    return run_index.embedding_map(run_path, method)


def selection_points(event) -> list:
    """The points of a chart's selection event (an attribute dict from the browser, a plain dict from a test)."""
    try:
        return list(event["selection"]["points"] or [])
    except (TypeError, KeyError):
        return []


@st.cache_data(max_entries=64, show_spinner="Finding where the model looked (the first time loads TensorFlow)...")
def heatmap(run_path: str, stamp: float, path: str, landmark_id: int):
    """The Grad-CAM overlay of the guess `landmark_id` for one validation photo, once per photo, model and guess."""
    from glr import explain

    return explain.gradcam_overlay(run_path, path, landmark_id=landmark_id)[0]


def mistake_heatmaps(run: Run, wrong) -> "callable":
    """A photo_grid overlay: under each mistake, where the model looked for its wrong guess (Grad-CAM)."""
    guesses = dict(zip(wrong["path"].astype(str), wrong["pred_landmark_id"]))
    stamp = run_table.model_stamp(run)

    def draw(path: str) -> None:
        try:
            st.image(heatmap(str(run.path), stamp, str(path), int(guesses[str(path)])), width="stretch",
                     alt="Where the model looked for its wrong guess: a heatmap over the photo, red counting most")
        except READ_ERRORS as exc:  # a moved photo or a model that cannot be explained: say so, keep the grid
            st.caption(f"no heatmap: {common.md(exc)}")

    return draw


st.title("Results")
results = common.results_dir()
runs_table = app_runs.run_list(results)  # read again only when a run's files change
available = run_table.evaluated_runs(results, runs_table)
if not available:
    common.no_runs(f"No run with results yet in {common.md(results)}.", "results_demo")
    st.stop()

finished = run_table.finished_runs(results, runs_table)
default = [finished[0] if finished else available[0]]
shown = st.session_state.get("results_runs")
if shown is None:
    st.session_state["results_runs"] = default
elif any(r not in available for r in shown):  # a run shown here was deleted: show what is left, or the newest
    st.session_state["results_runs"] = [r for r in shown if r in available] or default
# Shown by name (given on the Train page or `runs --rename`) and id; name.txt is in the run list's stamp, so a
# rename in another tab shows at the next rerun, and the selection (ids) survives it.
label = run_table.run_labels(runs_table)
# A run deleted meanwhile has no label: Streamlit still formats the value it held (None was a TypeError).
chosen = st.multiselect("Runs (pick several to compare)", available, key="results_runs",
                        format_func=lambda r: label.get(r, r))
if not chosen:
    st.info("Pick one run, or several to compare them.")
    st.stop()
paths = [Run.of(results, r) for r in chosen]
run_id = chosen[0] if len(chosen) == 1 else st.selectbox("Details for", chosen, key="results_detail",
                                                         format_func=lambda r: label.get(r, r))
run = Run.of(results, run_id)
status = run.status()

@st.cache_data(max_entries=2, show_spinner="Reading the confusion matrix...")
def read_confusion(path: str, stamp: tuple | None):
    """A run's confusion matrix, read once per version of the file (`stamp`): an older run's dense table of 20,000
    classes took a minute at every click."""
    return confusion_file.read(path)


def confusion_reader(path: Path):
    """`read_confusion` keyed on the file's size and modification time, so a rewritten file is read again."""
    try:
        info = path.stat()
    except OSError:
        return confusion_file.read(path)  # missing: None; unreadable: named as damaged
    return read_confusion(str(path), (info.st_mtime_ns, info.st_size))


# Each file read and checked on its own: one damaged file is named, and the others still show.
found, damaged_files = readout.read_results(run, read_confusion=confusion_reader)
labels, per_class, confusion, predictions = (found[k] for k in ("labels", "per_class", "confusion", "predictions"))
for problem in damaged_files:
    st.error(common.md(problem))

overview, classes, mistakes, retrieval_tab, map_tab = st.tabs(
    [":material/dashboard: Overview", ":material/table: Classes", ":material/error: Mistakes",
     ":material/hub: Retrieval", ":material/scatter_plot: Map"])

# --------------------------------------------------------------------------- overview
with overview:
    histories, problems = compare.histories(paths)
    for problem in problems:
        st.error(common.md(problem))
    if len(chosen) > 1:
        st.subheader("Comparison")
        table, note = compare.comparison(paths)  # each run's labels.json read once for both
        st.dataframe(table, hide_index=True, alt="Scores of the chosen runs", column_config={
            **{k: st.column_config.NumberColumn(k, format="%.3f") for k in ("top1", "top5", "gap")},
            **{k: st.column_config.NumberColumn(k, format="%d") for k in ("classes", "val_photos")}})
        st.caption("A blank score has no value: its note says why.")
        if note:
            st.warning(common.md(note))
    st.subheader(common.md(label[run_id]), anchor=False)
    try:
        scores, unreadable = run.metrics(), False
    except READ_ERRORS as exc:
        st.error(common.md(exc))
        scores, unreadable = None, True  # said as damaged above, not as "missing"
    if status["state"] in ACTIVE_STATES:
        # A resumed run keeps the evaluation of its earlier end until the new one replaces it.
        st.info(f"This run is still {status['state']}: "
                + ("the scores below are from its evaluation before it was resumed; new ones replace them when it "
                   "finishes. " if scores else "its metrics appear when it finishes. ") + "Follow it on the Train page.")
    if scores:
        # A row that wraps: five columns cut "100.0%" to "10…" in a narrow window.
        m = st.container(horizontal=True, gap="medium")
        for score in readout.headline(scores, len(labels) if labels is not None else None):
            why = f"No value: {score.why}." if score.why else None
            m.metric(score.label, score.text, width="content",
                     help=why or ("Global Average Precision, as in the Kaggle competitions" if score.key == "gap" else None))
        if note := readout.baseline_note(scores):
            st.caption(common.md(note))
    elif not unreadable:
        st.info(common.md(run_table.no_metrics_note(status)))
    common.data_problems(run)
    c = st.columns(2)
    c[0].plotly_chart(plots.history_figure(histories, "loss"), key="results_loss", alt="Loss by epoch",
                      config=app_style.chart_config())
    c[1].plotly_chart(plots.history_figure(histories, "accuracy"), key="results_accuracy", alt="Accuracy by epoch",
                      config=app_style.chart_config())

    st.subheader("Report")
    collage = run.report_dir / "collage.png"
    if collage.is_file():
        try:
            caption = report.collage_caption(predictions) if predictions is not None else None
        except READ_ERRORS:
            caption = None
        st.image(str(collage), caption=caption or "Validation photos: green when right, red when wrong",
                 alt="A collage of validation photos, each framed green when the model was right, red when wrong")
    else:
        st.info("No report yet for this run (or no collage: it needs val_predictions.csv).")
    r = st.container(horizontal=True)  # buttons in columns were cut to "Rewrit…" in a narrow window
    # Keyed by run, as the export and index buttons are: a click on a run deleted meanwhile (the page then shows
    # another) rewrote the other run's report.
    if r.button("Write the report" if not run.report_dir.is_dir() else "Rewrite the report",
                   key=f"results_write_report_{run_id}", icon=":material/description:"):
        try:
            with st.spinner("Writing the report..."):
                finish.report_run(run)
        except GlrError as exc:
            st.error(common.md(exc))
        else:
            st.rerun()
    if compare.report_files(run):  # zipped on the click only: built here, every rerun cost ~0.2 s and 1.7 MB
        r.download_button("Download the report (zip)", lambda: compare.report_zip(run), file_name=f"{run_id}-report.zip",
                             mime="application/zip", icon=":material/download:", key="results_download",
                             on_click="ignore")

    st.subheader("Take the model away")
    if not run.has_model():
        st.info("This run has no final model yet: exports appear when it finishes.")
    else:
        st.caption("The classifier in the format your device runs, with its labels, a note of the input it expects "
                   "(RGB 0..255, resized and centre-cropped; the normalisation is inside the model) and a predict.py "
                   "example that needs only that format's runtime. With the run's index the export also carries the "
                   "\"not a known landmark\" verdict: the model's second output embeds the photo, and predict.py "
                   "compares it with the training photos' vectors as glr does (spatial verification stays in glr). "
                   "Also `python -m glr export RUN --format ...`.")
        e = st.container(horizontal=True)  # in columns, a narrow window cut every label to "Export …"
        for fmt in export.FORMATS:
            with e:
                if export.export_ready(run, fmt):
                    st.download_button(EXPORT_LABELS[fmt], lambda fmt=fmt: export.export_zip(run, fmt),
                                       file_name=f"{run_id}-{fmt}.zip", mime="application/zip",
                                       icon=":material/download:", key=f"results_export_{fmt}", on_click="ignore")
                elif st.button(f"Export as {EXPORT_LABELS[fmt]}", key=f"results_make_{fmt}_{run_id}",
                               icon=":material/deployed_code:", help="takes a few seconds"):
                    try:
                        with st.spinner(f"Exporting as {EXPORT_LABELS[fmt]}..."):
                            export.export_run(run, fmt)
                    except GlrError as exc:
                        st.error(common.md(exc))
                    else:
                        st.rerun()

# --------------------------------------------------------------------------- classes
with classes:
    if per_class is not None:
        st.caption("Click a column header to sort: the weakest classes first by recall or F1. An empty cell has no "
                   "value: a class with no validation photo has no recall, one never predicted has no precision "
                   "(its note says which).")
        st.dataframe(shown := compare.display_table(readout.class_table(per_class, confusion)), hide_index=True, alt="Scores per class",
                     height=min(420, 35 * (len(shown) + 1) + 3),  # its rows: 420 px drew 8 classes over 3 empty rows
                     column_config={**{k: st.column_config.ProgressColumn(k, min_value=0.0, max_value=1.0, format="%.2f")
                                       for k in ("precision", "recall", "f1")}, "name": NAME_COLUMN})
    elif not run.per_class_path.is_file():  # a damaged one is named above
        st.info(common.md(run_table.no_metrics_note(status, run.per_class_path.name)))

# --------------------------------------------------------------------------- mistakes
with mistakes:
    if confusion is None and labels is not None and not run.confusion_path.exists():  # deleted: the heatmap went too
        confusion = compare.confusion_from(predictions, len(labels))
        if confusion is not None:
            st.caption(f"{run.confusion_path.name} is missing: the confusions below are recomputed from "
                       f"{run.predictions_path.name}.")
    if confusion is not None and labels is not None:
        st.subheader("Confusions")
        n = len(labels)
        top = st.slider("Classes in the heatmap (the most confused first)", 2, max(2, min(n, 60)), min(n, 30),
                        key="results_top") if n > 2 else n
        try:
            keep = list(range(n)) if n <= top else plots.confused_classes(confusion, top)
            figure = plots.confusion_figure(confusion, labels["name"].tolist(), clickable=True, keep=keep)
            pairs = metrics.most_confused_pairs(confusion, labels, k=20)
        except READ_ERRORS as exc:
            st.error(f"{common.md(run.confusion_path)} does not match labels.json: {common.md(exc)}")
            figure = pairs = None
        if figure is not None:
            # Thousands of classes cannot be drawn as a readable heatmap: say what part of it is shown.
            if cut := compare.heatmap_note(n, len(keep), *plots.shown_mistakes(confusion, keep)):
                st.caption(common.md(cut))
            st.download_button("Download the whole confusion matrix (CSV)", lambda: compare.confusion_csv(confusion, labels),
                               file_name=f"{run_id}-confusion.csv", mime="text/csv", icon=":material/download:",
                               key="results_confusion_csv", on_click="ignore")
            st.caption("Click a cell to see the validation photos behind it.")
            with app_style.heatmap_box("results_confusion_box", [labels["name"].iloc[i] for i in keep]):
                event = st.plotly_chart(figure, key="results_confusion", on_select="rerun", selection_mode="points",
                                        alt="Confusion matrix: true class by predicted class",
                                        config=app_style.chart_config(selects=True))
            cells = compare.selected_cells(selection_points(event))
            names = labels["name"].astype(str).tolist()
            # A selection outlives a switch to a run with fewer classes: keep only cells this run has.
            cells = [(t, p) for t, p in cells if t < len(names) and p < len(names)]
            for true_index, pred_index in cells[:4]:
                photos = compare.cell_photos(predictions, true_index, pred_index)
                what = "right" if true_index == pred_index else f"called {common.md(names[pred_index])}"
                count = int(confusion[true_index, pred_index])  # sparse: the cell's own count, whatever the photos say
                st.markdown(f"**{common.md(names[true_index])}**, {what}: {plural(count, 'photo')}")
                if predictions is None:  # it said "0 photos, no validation photo in this cell"
                    st.caption(f"Its photos cannot be shown: {common.md(run.predictions_path.name)} is "
                               f"{'damaged (above)' if run.predictions_path.exists() else 'missing'}.")
                elif photos.empty:
                    st.caption("no validation photo in this cell")
                else:
                    photo_grid(photos["path"].tolist(), [f"{readout.percent(c)} sure" for c in photos["confidence"]],
                               alts=f"A validation photo of {names[true_index]}" + (
                                   "" if true_index == pred_index else f", called {names[pred_index]}"))
        if pairs is not None and pairs.empty:
            st.success("No confusions: every validation image was classified correctly.")
        elif pairs is not None:
            st.markdown("**Most confused pairs**")
            st.dataframe(pairs[["count", "true", "predicted"]], hide_index=True, alt="Most confused pairs", column_config={  # count first: in view on a phone
                k: st.column_config.TextColumn(k, width="medium") for k in ("true", "predicted")})

    if predictions is not None:
        st.subheader("Misclassified examples")
        wrong_all = compare.misclassified(predictions, limit=len(predictions))
        if wrong_all.empty:
            st.success("No validation image was misclassified.")
        else:
            options = ["all classes"] + sorted(wrong_all["true_name"].astype(str).unique())
            which = st.selectbox("True class", options, key="results_wrong_class")
            wrong = compare.misclassified(predictions, limit=24, true_name=None if which == "all classes" else which)
            st.caption(f"{len(wrong_all):,} of {len(predictions):,} validation images are wrong; "
                       "the most confident mistakes first. Under each: true → predicted (confidence).")
            explain = st.toggle("Show where the model looked", key="results_gradcam",
                                help="Under each photo, Grad-CAM of its wrong guess: the places whose features "
                                     "raised the model's score for the class it wrongly named.")
            photo_grid(wrong["path"].tolist(),
                       [f"{common.md(t)} → {common.md(p)} ({readout.percent(c)})"
                        for t, p, c in zip(wrong["true_name"], wrong["pred_name"], wrong["confidence"])],
                       alts=[f"A validation photo of {t}, called {p}" for t, p in zip(wrong["true_name"], wrong["pred_name"])],
                       overlay=mistake_heatmaps(run, wrong) if explain and run.has_model() else None)
    elif (confusion is None or labels is None) and not run.predictions_path.is_file():  # a damaged one is named above
        st.info(common.md(run_table.no_metrics_note(status, run.predictions_path.name)))

# --------------------------------------------------------------------------- retrieval
retrieval = run_index.load_retrieval(run) if status["state"] == "finished" else None
damaged = run_index.retrieval_problem(run, retrieval) if retrieval is not None else None
retrieval = None if damaged else retrieval  # a damaged evaluation is shown as none, with the way to build it again
with retrieval_tab:
    if retrieval is None:
        if damaged:
            st.warning(common.md(damaged))
        else:
            st.info("This run has no embedding index yet: it gives the Predict page its similar photos and its "
                    "\"not a known landmark\" verdict.")
        if status["state"] == "finished" and st.button("Build the index", key=f"results_build_index_{run_id}",
                                                       icon=":material/hub:"):
            try:
                with st.status("Building the index...") as box:
                    finish.rebuild_index(run, progress=box.write)
            except GlrError as exc:
                st.error(common.md(exc))
            else:
                st.rerun()
    else:
        unknown = retrieval["unknown"]
        try:
            st.caption(f"Index: {run_index.index_summary(retrieval)}.")
        except READ_ERRORS as exc:  # an index from a newer glr, or a damaged file: the rest of the tab still reads
            st.warning(common.md(exc))
        st.caption(f"Each validation photo named three ways: by the head, by a vote of its {retrieval['knn_k']} most "
                   f"similar training photos (kNN), and by their blend. \"With distractors\" ranks "
                   f"{retrieval['distractors']} photos that show no landmark among the validation photos, as the "
                   "Kaggle competitions did; \"unknown applied\" first moves the photos the calibrated verdict calls "
                   "unknown to the bottom.")
        st.dataframe(run_index.retrieval_table(retrieval).rename(columns={
            "top1": "top-1", "gap": "GAP", "gap_distractors": "GAP with distractors",
            "gap_distractors_unknown": "… unknown applied"}), hide_index=True, alt="Retrieval scores",
            column_config={k: st.column_config.NumberColumn(k, format="%.3f")
                           for k in ("top-1", "GAP", "GAP with distractors", "… unknown applied")})
        u = st.container(horizontal=True, gap="medium")  # wraps in a narrow window; columns cut values to "10…"
        weight = retrieval.get("known_head_weight", 0.5)
        u.metric("Unknown threshold", readout.decimal(unknown["threshold"]),
                 help=f"On the known score, {weight:.2f} x the head's confidence + {1 - weight:.2f} x the nearest "
                      "training photo's similarity (the weight learned from the training photos by leaving classes "
                      f"out); calibrated on {unknown['calibrated_on']} validation photos to keep "
                      f"{readout.percent(unknown['keep_known'])} of them", width="content")
        # NaN when no distractor (or no validation photo) could be scored: "—", never "nan%".
        no_value = "No value: no distractor photo, or no validation photo, could be scored."
        flagged, auroc = unknown["distractors_flagged"], unknown["auroc"]["known_score"]
        u.metric("Distractors called unknown", readout.percent(flagged), width="content",
                 help=no_value if readout.number(flagged) is None else None)
        u.metric("ROC AUC, known vs distractor", readout.decimal(auroc), width="content",
                 help=no_value if readout.number(auroc) is None else None)

# --------------------------------------------------------------------------- map
with map_tab:
    if retrieval is None:
        st.info("The embedding map needs the run's embedding index (see the Retrieval tab).")
    else:
        st.markdown("**Embedding map** of the training photos: each point is a photo, each colour a landmark. "
                    "Click or lasso points to see them.")
        projection = st.segmented_control("Projection", list(PROJECTIONS), default="PCA", key="results_projection",
                                          help=PROJECTION_HELP) or "PCA"
        st.caption(PROJECTION_HELP)
        try:
            points = embedding_points(str(run.path), run_index.index_stamp(run), PROJECTIONS[projection])
        except READ_ERRORS as exc:
            st.error(f"The embedding index of {run_id} cannot be read: {common.md(exc)}")
            points = None
        if points is not None:
            event = st.plotly_chart(plots.embedding_figure(points), key="results_map", on_select="rerun", alt="Map of the training photos",
                                    selection_mode=("points", "lasso", "box"), config=app_style.chart_config(selects=True))
            chosen_points = [p.get("customdata") for p in selection_points(event)]
            rows = [int(c[0] if isinstance(c, list) else c) for c in chosen_points if c is not None][:18]
            if rows:
                picked = points.iloc[rows]
                photo_grid(picked["path"].tolist(), [common.md(n) for n in picked["name"].astype(str)],
                           alts=[f"A photo of {n}" for n in picked["name"].astype(str)])
