"""Dataset: choose a dataset, see its long tail, the curated top-N and its split, a gallery per class, image sizes and problems."""

import sys
from pathlib import Path
from typing import Callable

# `streamlit run app.py` puts the app's folder on sys.path; AppTest, and a page run on its own, do not.
# glr and app_common live there.
if (_root := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _root)

import streamlit as st

from glr import paths
from glr.data import attribution
from glr.data import browse
from glr.data import long_tail
from glr.data.class_index import ClassIndex
from glr.data import from_uploads
from glr.data import staging
from glr.data import uploads
from glr.demo import dataset as demo
from glr.data import datasets
from glr.evaluation import plots
from glr.errors import GlrError
import app_common as common

common.setup()

CLASS_COUNT_KEY = "upload_class_count"  # how many "photos per class" boxes the form shows
BUILT_KEY = "upload_built"  # the dataset just made: (path, counts, problems)
STAGING_KEY = "upload_staging"  # this session's key of glr.data.staging, where dropped photos are kept
ROUND_KEY = "upload_rounds"  # upload box -> its round, part of its key (see round_of)
HANDLED_KEY = "upload_handled"  # upload box -> {file id of a file in it: the photo_name it was kept as, "" if refused}
DROP_PROBLEMS_KEY = "upload_drop_problems"  # staging slot -> the problems met when its photos were dropped
KEPT_KEY = "upload_kept"  # this session kept photos and has not discarded them all: their loss is said
BAR_CHART_CLASSES = 500  # up to this many classes, one bar per class; above, the long tail's aggregates


# Built once per dataset (a resource: pages only read it), from the rows as listed: curation's file
# check on a big catalog drops missing files later, and reports them under "Problems found".
@st.cache_resource(max_entries=4, show_spinner="Indexing the classes...")
def class_index(key: tuple, _catalog: datasets.Catalog) -> ClassIndex:
    return ClassIndex(_catalog.df)


# The failure is cached too: on a big catalog without its images, each new attempt would check the
# files of the next few hundred classes again, on every rerun.
@st.cache_data(max_entries=16, show_spinner="Curating the top classes...")
def curated(path: str | None, stamp: float, top_n: int, min_images: int, val_fraction: float,
            seed: int) -> tuple[datasets.Split | None, str | None]:
    try:
        return common.curate(path, top_n, min_images, val_fraction, seed), None
    except GlrError as exc:
        return None, str(exc)


def staging_box() -> staging.Staging:
    """This session's kept photos. Its key is also in the URL, so a refresh of this page finds them again."""
    key = st.session_state.get(STAGING_KEY) or st.query_params.get("upload")
    if not staging.is_key(key):
        key = staging.new_key()
        staging.prune(spare=key)  # once per session: the stagings of old sessions go
    st.session_state[STAGING_KEY] = key
    if st.query_params.get("upload") != key:
        st.query_params["upload"] = key
    box = staging.Staging(key)
    if st.session_state.get(KEPT_KEY) and not box.path.is_dir():  # not by this session: said, not silent
        st.session_state.pop(KEPT_KEY)
        st.warning(f"The photos kept in this form were cleared: kept photos untouched for "
                   f"{staging.MAX_AGE_SECONDS // 3600} hours, or beyond the {staging.MAX_STAGINGS} most recently "
                   "used on this server, are removed. Drop them again.")
    return box


def round_of(box_key: str) -> int:
    """Part of an upload box's key: a new round empties the box (after "Remove them", or the dataset made)."""
    return st.session_state.get(ROUND_KEY, {}).get(box_key, 0)


def upload_box(box_key: str, widget_key: str) -> dict[str, str]:
    """The files kept from the upload box `box_key` (file id -> photo_name), drawn next as `widget_key`; none
    when it comes back (empty) after it was not drawn: another source, page or way of uploading."""
    handled = st.session_state.setdefault(HANDLED_KEY, {})
    if widget_key not in st.session_state:
        handled[box_key] = {}
    return handled.setdefault(box_key, {})


def empty_box(box_key: str) -> None:
    """Draw the upload box `box_key` empty from the next run on (its files are kept or discarded)."""
    rounds = st.session_state.setdefault(ROUND_KEY, {})
    rounds[box_key] = rounds.get(box_key, 0) + 1
    st.session_state.setdefault(HANDLED_KEY, {}).pop(box_key, None)


def keep(box: staging.Staging, slot: str, drop: Callable[[], list[str]]) -> None:
    """Check and keep photos dropped: `drop()` keeps them and returns the problems, said under `slot`'s box."""
    with st.spinner("Checking the photos..."):  # its end may cut the run (another drop): drop() recorded them
        found = st.session_state.setdefault(DROP_PROBLEMS_KEY, {})
        try:
            found[slot] = found.get(slot, []) + drop()
        except OSError as exc:  # the uploads folder is read-only, full, or a file
            blocker = paths.file_in_the_way(box.path)
            found[slot] = [f"{blocker} is a file, not a folder: no photo can be kept or dataset made under "
                           f"{paths.uploads_dir()}; set GLR_UPLOADS to a folder" if blocker
                           else f"the photos cannot be kept in {box.path}: {exc.strerror or exc}"]
        if box.slots():
            st.session_state[KEPT_KEY] = True


def forget(box: staging.Staging, slot: str | None = None, empty: bool = True) -> None:
    """Discard the photos kept in `slot` (every slot: None) and what their drop met; `empty`: their upload box too."""
    box.clear(slot)
    if slot is None:
        st.session_state.pop(KEPT_KEY, None)
    found = st.session_state.setdefault(DROP_PROBLEMS_KEY, {})
    for name in [slot] if slot else list(found):
        found.pop(name, None)
    boxes = list(st.session_state.get(HANDLED_KEY, {})) if slot is None else ["zip" if slot[:4] == "zip-" else slot]
    for box_key in boxes if empty else []:
        empty_box(box_key)


def drop_problems(slots: list[str]) -> list[str]:
    """The problems met when the photos of `slots` were dropped."""
    found = st.session_state.get(DROP_PROBLEMS_KEY, {})
    return [problem for slot in slots for problem in found.get(slot, [])]


def zip_box(box: staging.Staging) -> dict[str, list]:
    """The zip's upload box, and the classes kept from the zip dropped last (name -> [(file name, path)])."""
    widget_key = f"upload_zip_{round_of('zip')}"
    handled = upload_box("zip", widget_key)
    archive = st.file_uploader("A zip holding one folder per class: <class name>/<photo>.jpg", type=["zip"],
                               key=widget_key)
    if handled and (archive is None or archive.file_id not in handled):  # taken out of the box (its ✕), or replaced
        handled.clear()
        for slot in box.slots("zip-"):
            forget(box, slot, empty=False)
        st.session_state.setdefault(DROP_PROBLEMS_KEY, {}).pop("zip-0", None)
    if archive is not None and archive.file_id not in handled:
        classes, found = from_uploads.classes_from_zip(archive.getvalue(), archive.name)
        for slot in box.slots("zip-"):  # a new zip replaces the one kept
            forget(box, slot, empty=False)
        st.session_state.setdefault(DROP_PROBLEMS_KEY, {})["zip-0"] = found

        def drop() -> list[str]:
            handled[archive.file_id] = "zip"  # first: a damaged zip is not read again on every run
            return [problem for i, (label, photos) in enumerate(classes.items())
                    for problem in box.add(f"zip-{i}", photos, label)[1]]

        keep(box, "zip-0", drop)
    labels = box.labels()
    kept = {labels.get(slot, slot): [(p.name, p) for p in box.photos(slot)] for slot in box.slots("zip-")}
    if kept and st.button("Remove the zip's photos", key="upload_clear_zip", icon=":material/delete:"):
        for slot in box.slots("zip-"):
            forget(box, slot)
        st.session_state.setdefault(DROP_PROBLEMS_KEY, {}).pop("zip-0", None)
        st.rerun()
    for problem in drop_problems(["zip-0"] + box.slots("zip-")):
        st.warning(common.md(problem))
    return kept


def dataset_name(box: staging.Staging) -> tuple[str, str | None]:
    """The dataset name box (kept with the photos, so a refresh shows it again); the name and why it cannot be used."""
    if "upload_name" not in st.session_state and box.name():  # a new session: a refresh, or the page's address
        st.session_state["upload_name"] = box.name()
    # max_chars: a name is a folder's, at most MAX_NAME characters; a longer one pasted is cut where it shows.
    name = st.text_input("Dataset name", key="upload_name", placeholder="e.g. my landmarks", persist_state="session",
                         max_chars=from_uploads.MAX_NAME)
    if not name.strip():
        return name, "name the dataset"
    if problem := from_uploads.name_problem(name, "dataset name"):
        st.warning(common.md(problem))  # said as typed, not only once Make is clicked
    return name, problem


def class_boxes(box: staging.Staging) -> dict[str, list]:
    """One name and one upload box per class; the classes named whose photos are kept (name -> [(file name, path)])."""
    classes, recorded, named = {}, box.labels(), {}  # named: a class name, casefolded -> its first box
    # After a refresh (a new session), as many boxes as the kept photos need, named as they were.
    kept_boxes = [int(slot.split("-")[1]) + 1 for slot in box.slots("class-")]
    count = st.session_state[CLASS_COUNT_KEY] = max([st.session_state.get(CLASS_COUNT_KEY, 2), *kept_boxes])
    for i in range(count):
        slot = f"class-{i}"
        c = st.columns([1, 3])
        label = c[0].text_input(f"Class {i + 1}", value=recorded.get(slot, ""), key=f"upload_class_{i}",
                                placeholder="class name", persist_state="session",
                                max_chars=from_uploads.MAX_NAME).strip()
        widget_key = f"upload_photos_{i}_{round_of(slot)}"
        handled = upload_box(slot, widget_key)
        files = c[1].file_uploader(f"Photos of class {i + 1}", type=list(uploads.IMAGE_TYPES),
                                   accept_multiple_files=True, key=widget_key)
        # The box keeps its files (a new key emptied it after each drop, and lost a batch dropped, or still
        # uploading, while the one before was checked): each file is kept once, by its upload's id.
        if {f.file_id for f in files or []} != set(handled):  # a drop, or a file taken out (its ✕)
            keep(box, slot, lambda: box.sync(slot, handled, [(f.file_id, f"{label or f'class {i + 1}'}/{f.name}",
                                                              f.getvalue) for f in files or []], label or None))
        kept = box.photos(slot)
        if kept:
            k = c[1].container(horizontal=True, vertical_alignment="center")
            k.caption(f"{datasets.plural(len(kept), 'photo')} kept for {common.md(label) if label else f'class {i + 1}'}")
            if k.button("Remove them", key=f"upload_clear_{slot}", icon=":material/delete:"):
                forget(box, slot)
                st.rerun()
        for problem in drop_problems([slot]):
            c[1].warning(common.md(problem))
        if kept and label and recorded.get(slot) != label:
            box.set_label(slot, label)
        if kept and (problem := from_uploads.name_problem(label) if label else "the class has no name"):  # said now; at Make its photos were skipped, then deleted
            c[1].warning(f"{datasets.plural(len(kept), 'photo')} not in the dataset until the class is named again: "
                         f"{common.md(problem)}")
        elif kept:
            if (first := named.setdefault(label.casefold(), i)) != i:  # said now, not only once the dataset is made
                c[1].warning(f"Named like class {first + 1}: their photos make one class.")
            classes.setdefault(label, []).extend((p.name, p) for p in kept)
    if st.button("Add a class", key="upload_add_class", icon=":material/add:"):
        st.session_state[CLASS_COUNT_KEY] = count + 1
        st.rerun()
    return classes


def upload_form() -> None:
    """Make a dataset from uploads: a zip of class folders, or photos dropped per class (Teachable Machine style)."""
    st.caption(f"The photos are checked as they are dropped and kept in {common.md(paths.uploads_dir())} until the "
               "dataset is made or they are removed, so hiding this form loses nothing; then copied into a new dataset "
               "folder there, one folder per class. A zip is read in memory: a member whose path leaves its folder is "
               f"refused, and at most {uploads.ZIP_MAX_FILES:,} photos and {uploads.ZIP_MAX_BYTES // uploads.MB} MB "
               "are taken.")
    box = staging_box()
    name, name_problem = dataset_name(box)
    how = st.radio("Photos", ["A zip of class folders", "Photos per class"], horizontal=True, key="upload_how",
                   persist_state="session")
    by_zip = how == "A zip of class folders"
    classes = zip_box(box) if by_zip else class_boxes(box)
    box.set_name(name)  # after the boxes: the first photos kept make the staging folder that keeps it
    if elsewhere := sum(len(box.photos(slot)) for slot in box.slots("class-" if by_zip else "zip-")):
        st.caption(f"Also kept: {datasets.plural(elsewhere, 'photo')} " + (
            "dropped per class; choose “Photos per class” to see them." if by_zip
            else "from a zip; choose “A zip of class folders” to see them."))
    if classes:
        st.caption("Kept, ready for the dataset: "
                   + ", ".join(f"{common.md(label)} ({len(photos)})" for label, photos in sorted(classes.items())))
    if st.button("Make the dataset", key="upload_build", icon=":material/create_new_folder:", type="primary",
                 disabled=not classes or name_problem is not None):
        try:
            with st.spinner("Copying the photos..."):
                built = from_uploads.build_dataset(name, classes)
                # Inside the spinner: a second click cuts the run at its end, and its rerun must find the
                # photos gone (Make disabled), not make the dataset again ("already exists").
                used = sorted({path.parent.name for photos in classes.values() for _, path in photos})
                met = drop_problems(used)
                for slot in used:  # the dataset holds them now; photos of an unnamed class stay, with their warning
                    forget(box, slot)
                if not box.slots():
                    forget(box)
                # The name is taken now: left in its box, it was said to be so under the dataset just made.
                box.set_name("")
                st.session_state.pop("upload_name", None)
                st.session_state[BUILT_KEY] = (str(built.path), built.counts, met + built.problems)
                box.set_built(*st.session_state[BUILT_KEY])  # a refresh meanwhile found the photos gone, unsaid
        except GlrError as exc:
            st.error(common.md(exc))
        else:
            st.rerun()  # the form above was drawn with the photos kept: draw it again without them
    built = st.session_state.get(BUILT_KEY) or box.built()
    if built and Path(built[0]).is_dir():
        path, counts, found = built
        st.success(f"Made {common.md(path)}: {datasets.plural(len(counts), 'class')}, "
                   f"{datasets.plural(sum(counts.values()), 'photo')}.")
        for problem in found:
            st.warning(common.md(problem))
        if st.button("Use this dataset", key="upload_use", icon=":material/check:"):
            st.session_state.pop(BUILT_KEY, None)
            box.set_built(None)
            common.use_dataset(path)
            st.rerun()


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
        upload_form()
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

index = class_index((dataset, browse.dataset_stamp(dataset)), catalog)
summary = index.summary()
cols = st.container(horizontal=True, gap="large")  # wraps in a narrow window; columns cut values to "10…"
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
    st.plotly_chart(plots.class_distribution_figure(counts, log=log), key="class_distribution")
    scale = "(log scale: the counts span a wide range)." if log else "(bars from 0: the classes are about even)."
else:
    t = st.columns(2)
    t[0].plotly_chart(long_tail.rank_size_figure(index), key="rank_size")
    t[1].plotly_chart(long_tail.size_histogram_figure(index), key="size_histogram")
    scale = "(drawn from aggregates: a rank-size curve on log axes, and classes counted by size)."
st.caption(f"{index.tail_share(10):.0%} of the classes have 10 images or fewer {scale}")

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
split, curate_error = curated(dataset, browse.dataset_stamp(dataset), top_n, min_images, val_fraction, seed)
if curate_error:
    st.error(common.md(curate_error))
if split is not None:
    m = st.columns(3)
    m[0].metric("Classes kept", f"{split.num_classes:,}")
    m[1].metric("Training images", f"{len(split.train):,}")
    m[2].metric("Validation images", f"{len(split.val):,}")
    st.dataframe(browse.split_table(split), hide_index=True, height=300,
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
    common.show_thumbnails(row["examples"], columns=browse.EXAMPLES_PER_CLASS,
                           captions=[c or "" for c in credits] if any(credits) else None)
st.caption(f"{gallery.matches:,} classes match; page {gallery.page} of {gallery.pages}.")

# --------------------------------------------------------------------------- image sizes
st.subheader("Image sizes")
sizes = common.size_stats(dataset)
if sizes["sizes"].empty:
    st.warning(f"None of the {sizes['sampled']} sampled images could be read.")
else:
    s = st.columns([1, 1])
    s[0].dataframe(sizes["summary"], column_config={"_index": st.column_config.TextColumn("")})
    s[1].dataframe(sizes["common"], hide_index=True)
    st.caption(f"From the headers of {sizes['sampled']} images picked at random"
               + (f"; {sizes['unreadable']} could not be read." if sizes["unreadable"] else "."))

# --------------------------------------------------------------------------- problems
st.subheader("Problems found")
problems = catalog.problems + (split.messages if split is not None else [])
if not problems:
    st.success("No problems found: every listed image exists and every row was usable.")
for problem in problems:
    st.warning(common.md(problem))
st.caption(f"Root: {common.md(Path(catalog.root))}")
