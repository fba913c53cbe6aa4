"""Dataset: choose a dataset, see its long tail, the curated top-N and its split, a gallery per class, image sizes and problems."""

import sys
from pathlib import Path

# `streamlit run app.py` puts the app's folder on sys.path; AppTest, and a page run on its own, do not.
# glr and app_common live there.
if (_root := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _root)

import streamlit as st

from glr.data import attribution
from glr.data import browse
from glr.data import long_tail
from glr.evaluation import readout
from glr.data.class_index import ClassIndex
from glr.demo import dataset as demo
from glr.data import datasets
from glr.evaluation import plots
from glr.errors import GlrError
import app_common as common
import app_photos
import app_style
import app_upload

common.setup(common.DATASET)

BAR_CHART_CLASSES = 500  # up to this many classes, one bar per class; above, the long tail's aggregates


# Built once per dataset (a resource: pages only read it), from the rows as listed: curation's file
# check on a big catalog drops missing files later, and reports them under "Problems found".
@st.cache_resource(max_entries=4, show_spinner="Indexing the classes...")
def class_index(key: tuple, _catalog: datasets.Catalog) -> ClassIndex:
    return ClassIndex(_catalog)


# The failure is cached too: on a big catalog without its images, each new attempt would check the
# files of the next few hundred classes again, on every rerun.
@st.cache_data(max_entries=16, show_spinner="Curating the top classes...")
def curated(path: str | None, stamp: float, top_n: int, min_images: int, val_fraction: float,
            seed: int) -> tuple[datasets.Split | None, str | None]:
    try:
        return common.curate(path, top_n, min_images, val_fraction, seed), None
    except GlrError as exc:
        return None, str(exc)


st.title("Dataset")
dataset = common.current_dataset()

# --------------------------------------------------------------------------- choose
with st.container(border=True):
    st.markdown(f"**In use:** {common.md(browse.dataset_label(dataset))}")
    recent = browse.recent_datasets()
    sources = ["The demo dataset", "A folder on this computer", "Upload photos"] + (["A recent one"] if recent else [])
    source = st.radio("Dataset", sources, horizontal=True, key="dataset_source", label_visibility="collapsed",
                      index=0 if not dataset else 1)
    if source == "The demo dataset":
        if dataset and st.button("Use the demo dataset", key="use_demo"):
            common.use_dataset(None)
            st.rerun()
    elif source == "A folder on this computer":
        typed = st.text_input(
            "Dataset folder: GLDv2 layout (train.csv + train/a/b/c/id.jpg) or one sub-folder of images per class; "
            "a GLDv2 train.csv works too",
            value=dataset or "", key="dataset_path", placeholder="/path/to/gldv2",
        )
        if st.button("Use this folder", key="use_path", disabled=not browse.typed_path(typed)):
            common.use_dataset(browse.typed_path(typed))
            st.rerun()
    elif source == "Upload photos":
        app_upload.upload_form()
    else:
        picked = st.selectbox("Recently used", recent, key="dataset_recent")
        if st.button("Use this one", key="use_recent"):
            common.use_dataset(picked)
            st.rerun()

# --------------------------------------------------------------------------- load
if not dataset and not demo.is_ready():
    st.info("The demo dataset is not generated yet: it is drawn on this computer (100 landmark classes, "
            "about 2,000 photos, under a minute). Or type the folder of a dataset of your own above.")
    common.generate_demo_button("dataset_generate")
    st.stop()

try:
    catalog = common.load_catalog(dataset)
except GlrError as exc:
    common.bad_dataset(str(exc), "dataset_bad")
    st.stop()
if dataset:
    browse.remember_dataset(dataset)

index = class_index((dataset, common.dataset_stamp(dataset)), catalog)
summary = index.summary()
cols = st.container(horizontal=True, gap="medium")  # wraps in a narrow window; columns cut values to "10…"
cols.metric("Classes", f"{summary['classes']:,}", width="content")
cols.metric("Images", f"{summary['images']:,}", width="content")
cols.metric("Median per class", f"{summary['per_class_median']:g}", width="content",
            help=f"Images per class: median; min {summary['per_class_min']}, max {summary['per_class_max']}")
cols.metric("Layout", "GLDv2" if catalog.layout == "gldv2" else "folders", width="content",
            help="GLDv2: train.csv and train/a/b/c/id.jpg. Folders: one sub-folder of photos per class.")
cols.metric("Reading problems", len(catalog.problems), width="content",
            help="Rows and files that could not be used as read; listed under \"Problems found\" at the bottom, "
                 "with what the curation drops")

# --------------------------------------------------------------------------- long tail
st.subheader("The long tail")
if summary["classes"] <= BAR_CHART_CLASSES:
    counts = index.counts()
    log = plots.use_log_scale(counts)
    st.plotly_chart(plots.class_distribution_figure(counts, log=log), key="class_distribution",
                    alt="Images per class, one bar per class", config=app_style.chart_config())
    scale = "(log scale: the counts span a wide range)." if log else "(bars from 0: the classes are about even)."
else:
    t = st.columns(2)
    t[0].plotly_chart(long_tail.rank_size_figure(index), key="rank_size", alt="Class size by rank",
                      config=app_style.chart_config())
    t[1].plotly_chart(long_tail.size_histogram_figure(index), key="size_histogram",
                        alt="Classes counted by size", config=app_style.chart_config())
    scale = "(drawn from aggregates: a rank-size curve on log axes, and classes counted by size)."
st.caption(f"{readout.percent(index.tail_share(10))} of the classes have 10 images or fewer {scale}")

# --------------------------------------------------------------------------- curate and split
st.subheader("Curated top-N and the train/validation split")
st.caption("A preview of what a training keeps: the Train page has the same settings, set there for each run.")
c = st.columns(4)
# At least 2, as on the Train page: a split of one class is no classifier's data (curation took 1 in silence).
top_n = c[0].number_input("Top-N classes", min_value=2, max_value=100_000, value=datasets.DEFAULT_TOP_N, step=10,
                          key="curate_top_n", persist_state="session")
min_images = c[1].number_input("Min images per class", min_value=2, max_value=1000, value=datasets.DEFAULT_MIN_IMAGES,
                               key="curate_min_images", persist_state="session")
val_fraction = c[2].slider("Validation fraction", 0.05, 0.5, datasets.DEFAULT_VAL_FRACTION, 0.05,
                           key="curate_val", persist_state="session")
seed = c[3].number_input("Seed", min_value=0, max_value=datasets.MAX_SEED, value=datasets.DEFAULT_SEED,
                        key="curate_seed", persist_state="session")
split, curate_error = curated(dataset, common.dataset_stamp(dataset), top_n, min_images, val_fraction, seed)
if curate_error:
    st.error(common.md(curate_error))
if split is not None:
    m = st.columns(3)
    m[0].metric("Classes kept", f"{split.num_classes:,}")
    m[1].metric("Training images", f"{len(split.train):,}")
    m[2].metric("Validation images", f"{len(split.val):,}")
    st.dataframe(browse.split_table(split), hide_index=True, height=300, alt="The curated split, class by class",
                 column_config={"images": st.column_config.ProgressColumn(
                     "images", min_value=0, max_value=int(split.labels["images"].max()), format="%d"),
                     # At most "medium": sized to a 120-character class name, it pushed the counts out of view.
                     "name": st.column_config.TextColumn("name", width="medium")})

# --------------------------------------------------------------------------- gallery
st.subheader("Gallery")
g = st.columns([3, 1, 1])
query = g[0].text_input("Search classes by name or landmark id", key="gallery_query", placeholder="e.g. tower")
per_page = g[1].selectbox("Classes per page", [4, 8, 16], index=1, key="gallery_per_page")
pages_total = index.pages(query, per_page)
# A new search or page size starts again at page 1 (the key changes with them).
page_no = g[2].number_input(f"Page (of {pages_total:,})", min_value=1, max_value=pages_total, value=1,
                            key=f"gallery_page_{query}_{per_page}")
gallery = index.page(query, page_no, per_page, browse.EXAMPLES_PER_CLASS)
if gallery.matches == 0:
    st.info(f"No class matches “{common.md(query)}”.")  # as typed: repr() would double a backslash
for _, row in gallery.classes.iterrows():
    st.markdown(f"**{common.md(row['name'])}** · landmark {row['landmark_id']} · {row['images']:,} images")
    credits = attribution.credits(row["examples"])
    app_photos.show_thumbnails(row["examples"], captions=[c or "" for c in credits] if any(credits) else None,
                               alts=f"A photo of {row['name']}")
st.caption(f"{gallery.matches:,} classes match; page {gallery.page} of {gallery.pages}.")

# --------------------------------------------------------------------------- image sizes
st.subheader("Image sizes")
sizes = common.size_stats(dataset)
if sizes["sizes"].empty:
    st.warning(f"None of the {sizes['sampled']} sampled images could be read.")
else:
    s = st.columns([1, 1])
    s[0].dataframe(sizes["summary"], column_config={"_index": st.column_config.TextColumn("")}, alt="Image sizes")
    s[1].dataframe(sizes["common"], hide_index=True, alt="The most common image sizes")
    st.caption(f"From the headers of {sizes['sampled']} images picked at random"
               + (f"; {sizes['unreadable']} could not be read." if sizes["unreadable"] else "."))

# --------------------------------------------------------------------------- problems
st.subheader("Problems found")
problems = catalog.problems + attribution.problems(catalog.root) + (split.messages if split is not None else [])
if unread := browse.unread_problem(sizes, catalog.root):  # all empty: was "No problems found" beside "none could be read"
    problems.append(unread)
if not problems:
    st.success("No problems found: every listed image exists and every row was usable.")
for problem in problems:
    st.warning(common.md(problem))
st.caption(f"Root: {common.md(Path(catalog.root))}")
