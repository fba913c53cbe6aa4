"""glr's Streamlit app. For now: the dataset summary of the embedded demo (or GLR_DATA).

Run with `streamlit run app.py`. All logic lives in `glr`; this file only lays out widgets.
"""

import os

import streamlit as st

from glr import datasets
from glr.errors import GlrError

st.set_page_config(page_title="glr: landmark recognition", page_icon=":classical_building:", layout="wide")


@st.cache_data(show_spinner=False)
def load_summary(path: str | None) -> tuple[dict, list[dict], list[str]]:
    """Summary, top classes and problems of the dataset at `path` (None: the demo)."""
    if path is None:
        from glr import demo

        path = str(demo.ensure_demo())
    catalog = datasets.load_catalog(path)
    split = datasets.curate(catalog)
    return datasets.summarize(catalog), split.labels.to_dict("records"), catalog.problems + split.messages


st.title("glr: landmark recognition")
st.caption("Fine-grained landmark recognition on Google Landmarks v2: train, inspect and try a model in the browser.")

data_path = st.text_input("Dataset folder (GLDv2 layout or one folder per class); empty for the embedded demo",
                          value=os.environ.get("GLR_DATA", ""))
try:
    with st.spinner("Reading the dataset (the demo is generated on first use, under a minute)..."):
        summary, labels, problems = load_summary(data_path.strip() or None)
except GlrError as exc:
    st.error(str(exc))
    st.stop()

cols = st.columns(4)
cols[0].metric("Classes", f"{summary['classes']:,}")
cols[1].metric("Images", f"{summary['images']:,}")
cols[2].metric("Images per class (median)", f"{summary['per_class_median']:g}")
cols[3].metric("Problems found", summary["problems"])
st.subheader(f"Curated top {len(labels)} classes")
st.dataframe(labels, hide_index=True, use_container_width=True)
for problem in problems:
    st.warning(problem)
