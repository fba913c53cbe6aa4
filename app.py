"""glr's Streamlit app, and its Home page: what the app does, the dataset in use, the runs at a glance, and the one
button that runs the whole demo.

Run with `streamlit run app.py` (the README's first command). Streamlit's multipage mode
with a `pages/` folder: this file is the home page, and pages/ holds the others (Dataset,
Train, Results, Predict), each file name giving its place in the navigation, its label
and its URL. Every page, this one included, starts with app_common.setup(): the page config
and the sidebar they share, so whichever page a visitor opens first looks the same.
app_common.py lives beside this file because every .py in pages/ becomes a page. The
pages only lay out widgets and call `glr`. GLR_RESULTS moves the results folder, GLR_DATA
sets the dataset the app starts with (default: the embedded demo).
"""

import sys
from pathlib import Path

# `streamlit run app.py` puts this folder on sys.path, AppTest does not; glr and app_common live here.
if (_root := str(Path(__file__).resolve().parent)) not in sys.path:
    sys.path.insert(0, _root)

import streamlit as st

from glr.data import browse
from glr.demo import dataset as demo
from glr.training import run_table
from glr.data import datasets
from glr.evaluation import readout
from glr.training.run import Run
from glr.errors import GlrError
import app_common as common
import app_runs

common.setup()

st.title("glr: landmark recognition")
st.markdown(
    "Fine-grained landmark recognition on the Google Landmarks Dataset v2 (GLDv2), on a laptop CPU: "
    "look at a dataset, train an ImageNet backbone with a small head on its top classes, read the "
    "results and try the model on your own photos. Training runs in its own process, so closing "
    "this page never stops it."
)

results = common.results_dir()
dataset = common.current_dataset()

with st.container(border=True):
    st.subheader("One click: the whole demo")
    st.write("Generates the embedded demo dataset if needed (100 landmark classes, about 2,000 photos), "
             "then trains the default model on it in the background and shows its progress.")
    common.demo_button("home_demo")

st.subheader("Steps")
steps = [
    (common.DATASET, "1. Dataset", ":material/photo_library:", "classes, the long tail, the curated split, a gallery"),
    (common.TRAIN, "2. Train", ":material/model_training:", "configure, start, follow live, stop, resume"),
    (common.RESULTS, "3. Results", ":material/insights:", "top-1, top-5, GAP, confusions, mistakes, report"),
    (common.PREDICT, "4. Predict", ":material/image_search:", "your photos, a zip, or the camera"),
]
# Each step's link and caption held close in their own container, the steps further apart: on a phone the columns
# stack, and evenly spaced lines left each caption midway between two links.
for col, (page, label, icon, what) in zip(st.columns(4, gap="medium"), steps):
    with col.container(gap="xxsmall"):
        st.page_link(page, label=label, icon=icon)
        st.caption(what)

st.subheader("Dataset in use")
st.caption(common.md(browse.dataset_label(dataset)))
if not dataset and not demo.is_ready():
    st.info("The demo dataset is not generated yet. Generate it here, run the whole demo above, "
            "or choose a dataset of your own on the Dataset page.")
    common.generate_demo_button("home_generate")
else:
    try:
        summary = datasets.summarize(common.load_catalog(dataset))
    except GlrError as exc:
        common.bad_dataset(str(exc), "home_bad_dataset")
    else:
        c = st.container(horizontal=True, gap="medium")  # wraps in a narrow window; columns cut values to "10…"
        c.metric("Classes", f"{summary['classes']:,}", width="content")
        c.metric("Images", f"{summary['images']:,}", width="content")
        c.metric("Images per class (median)", f"{summary['per_class_median']:g}", width="content")
        c.metric("Problems found", summary["problems"], width="content")

st.subheader("Runs")
table = app_runs.run_list(results)  # cached: 200 runs took 0.9 s a rerun here
if table.empty:
    st.info(f"No runs yet in {common.md(results)}. Run the whole demo above, or start a training on the Train page.")
else:
    latest = next(iter(run_table.finished_runs(results, table)), None)
    if latest:
        try:
            scores = Run.of(results, latest).metrics() or {}
        except GlrError as exc:
            st.error(f"metrics.json of {latest} cannot be read: {common.md(exc)}")
            scores = {}
        if scores:
            st.caption(f"Latest finished run: {latest}")
            c = st.container(horizontal=True, gap="medium")
            for score in readout.headline(scores)[:3]:  # top-1, top-5, GAP: "—" and why where one has no value
                c.metric(score.label, score.text, width="content", help=f"No value: {score.why}." if score.why else None)
    st.dataframe(
        table.head(10), hide_index=True,
        column_config=common.RUN_TABLE_COLUMNS, alt="The 10 newest runs",
    )
    if len(table) > 10:
        st.caption(f"and {len(table) - 10} more on the Train page")
