"""glr's Streamlit app: look at a dataset, train a model in the background, read its results, try it on photos.

Run with `streamlit run app.py` (the README's first command). This file lists the pages
with st.navigation and draws the sidebar every page shares; each page in app_pages/ only
lays out widgets and calls `glr`. GLR_RESULTS moves the results folder, GLR_DATA sets the
dataset the app starts with (default: the embedded demo).

Why app_pages/ and not pages/: a folder named `pages/` beside the entry script switches
Streamlit (1.67) into its legacy multipage mode until the first run of app.py calls
st.navigation. A server whose first visitor opens a page URL directly (a bookmark, a tab
restored after a restart) then runs that page file alone, without this sidebar, and lists
every file of pages/ in the navigation. Another folder name avoids that mode altogether.
"""

import sys
from pathlib import Path

import streamlit as st

# `streamlit run` puts this folder on sys.path, AppTest does not; the pages import app_pages.common.
ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from glr.data import browse  # noqa: E402
from glr.training import launch  # noqa: E402
from glr.errors import GlrError  # noqa: E402
from app_pages import common  # noqa: E402

st.set_page_config(page_title="glr: landmark recognition", page_icon=":classical_building:", layout="wide")

page = st.navigation([
    st.Page(common.HOME, title="Home", icon=":material/home:", default=True),
    st.Page(common.DATASET, title="Dataset", icon=":material/photo_library:"),
    st.Page(common.TRAIN, title="Train", icon=":material/model_training:"),
    st.Page(common.RESULTS, title="Results", icon=":material/insights:"),
    st.Page(common.PREDICT, title="Predict", icon=":material/image_search:"),
])

with st.sidebar:
    results = common.results_dir()
    st.markdown("**Dataset in use**")
    st.caption(browse.dataset_label(common.current_dataset()))
    st.markdown("**Results folder**")
    st.caption(str(results))
    lock = launch.read_lock(results) if results.is_dir() else None
    if lock:
        st.info(f"Training: {lock.get('run_id')}", icon=":material/hourglass_top:")

try:
    page.run()
except GlrError as exc:  # the last net: every page handles its own errors, but never show a traceback for these
    st.error(str(exc))
