"""Shared pieces of the app's pages: the set-up every page starts with, the dataset in use, cached loaders,
and the buttons every empty state offers.

Not a page itself: it lives beside app.py, not in pages/, because Streamlit makes a page of
every .py file in pages/. Everything here calls `glr`; the only state it keeps is in
st.session_state.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from glr import class_examples, tf_quiet
from glr import paths, thumbnails
from glr.data import browse
from glr.demo import dataset as demo
from glr.data import datasets
from glr.training import launch
from glr.training.run import Run, runs_dir
from glr.training.status import ACTIVE_STATES
from glr.errors import GlrError
from glr.paths import demo_dir
import app_style
import app_server  # noqa: F401  (its changes to Streamlit's server process, made once on import)

# Page files, relative to app.py (st.switch_page and st.page_link take these). Streamlit takes
# each page's URL from its file name (/dataset, /train, ...); the number sets the order.
HOME, DATASET, TRAIN, RESULTS, PREDICT = (
    "app.py", "pages/1_dataset.py", "pages/2_train.py", "pages/3_results.py", "pages/4_predict.py")
# The sidebar navigation setup() draws. Streamlit's own list (hidden in .streamlit/config.toml)
# would label the home page "app", after its file, with no way to rename it or add icons.
NAVIGATION = (
    (HOME, "Home", ":material/home:"),
    (DATASET, "Dataset", ":material/photo_library:"),
    (TRAIN, "Train", ":material/model_training:"),
    (RESULTS, "Results", ":material/insights:"),
    (PREDICT, "Predict", ":material/image_search:"),
)

# How the run tables (Home, Train) show their scores: the saved model's top-1 is what the run
# delivers; the best epoch's validation accuracy may differ from it.
RUN_TABLE_COLUMNS = {
    "model_top1": st.column_config.ProgressColumn("saved model top-1", min_value=0.0, max_value=1.0, format="percent"),
    "best_val_accuracy": st.column_config.ProgressColumn("best epoch val accuracy", min_value=0.0, max_value=1.0,
                                                         format="percent"),
}
DATASET_KEY = "glr_dataset"  # the dataset in use: a path, or None for the embedded demo
RUN_KEY = "glr_selected_run"  # the run the Train page follows
POLL_SECONDS = 2.0  # how often a live training view re-reads the run folder
WATCHED_KEY = "glr_watched_run"  # the training this session saw going, so its end is announced once
ENDED_KEY = "glr_ended_run"  # the training that ended while this session watched it (the Train page offers next steps)


# --------------------------------------------------------------------------- set-up


# Characters that would format a name placed inside Markdown (emphasis, links, HTML, Streamlit's
# LaTeX and colour directives, tables): escaped, so "St_Mark's *new* [1]" shows as written.
tf_quiet.install()  # the Predict page's first TensorFlow import prints its start-up notices to the server's terminal

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>$~|])")


def md(text) -> str:
    """Text from outside the code (a class or file name, a path, a glr message naming a file) as literal
    text inside st.markdown and the other elements that read Markdown: trimmed, its Markdown escaped."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text).strip())


STAMPS_KEY = "_dataset_stamps"


def dataset_stamp(path: str | None) -> float:
    """browse.dataset_stamp of `path`, once per rerun of the page (setup() starts a new memo for each): every call
    looks at every class folder, 40 ms at 10,000 of them, and the Dataset page asked 5 times per rerun."""
    return browse.dataset_stamp(path, memo=st.session_state.setdefault(STAMPS_KEY, {}))


def page_title(page: str) -> str:
    """The browser tab's title of `page` (one of the page files above): its navigation label first."""
    label = next(label for file, label, _ in NAVIGATION if file == page)
    return "glr: landmark recognition" if page == HOME else f"{label} · glr: landmark recognition"


def setup(page: str = HOME) -> None:
    """The page config and the shared sidebar (navigation, dataset, results folder, a running training).

    The first call of app.py and of every page in pages/ (`page`: its file, as NAVIGATION names it), so whichever
    page a visitor opens first (a bookmark, a tab restored) draws the same sidebar. It changes nothing but the
    session's starting dataset.
    """
    # Each page its own browser tab title, its name first: one title for all five left a screen reader (and a row of
    # tabs) saying "glr: landmark recognition" whichever page was open.
    st.set_page_config(page_title=page_title(page), page_icon=":classical_building:", layout="wide")
    app_style.apply()  # first: the rules reach the browser with the first elements
    import app_training_note  # here, not at the top: it reads this module's names

    st.session_state[STAMPS_KEY] = {}  # a new rerun: dataset_stamp looks at the folders again, once
    with st.sidebar:
        for page, label, icon in NAVIGATION:
            st.page_link(page, label=label, icon=icon)
        st.divider()
        results = results_dir()
        st.markdown("**Dataset in use**")
        st.caption(md(browse.dataset_label(current_dataset())))
        st.markdown("**Results folder**")
        st.caption(md(results))
        if blocker := paths.file_in_the_way(runs_dir(results)):  # every Start would fail: say so on every page, at once
            st.error(f"{md(blocker)} is a file, not a folder: no run can be saved here; set GLR_RESULTS to a folder")
        active = active_run(results)
        if active:
            st.session_state[WATCHED_KEY] = active.id
            st.fragment(run_every=POLL_SECONDS)(app_training_note.badge)(str(active.path))
    app_training_note.announce_ended_training(results)


def active_run(results: Path) -> Run | None:
    """The run training in `results` now (it holds the training lock and is queued, running or stopping), or None."""
    lock = launch.read_lock(results) if results.is_dir() else None
    if not lock or not lock.get("run_id"):
        return None
    run = Run.of(results, str(lock["run_id"]))
    return run if run.status()["state"] in ACTIVE_STATES else None


def open_run(page: str, run_id: str) -> None:
    """Go to `page` (Results, Predict, Train) with run `run_id` chosen there."""
    st.session_state[RUN_KEY] = run_id
    # The keys of the Results page's run list and the Predict page's model selector.
    st.session_state["results_runs"] = [run_id]
    st.session_state["predict_run"] = run_id
    st.switch_page(page)


def run_label(results: Path, run_id: str) -> str:
    """How a selector shows a run: its name and id, or its id alone (a format_func)."""
    return Run.of(results, run_id).label()


# --------------------------------------------------------------------------- state


def results_dir() -> Path:
    """The results folder (GLR_RESULTS, else results/ in the checkout)."""
    return paths.results_dir()


def current_dataset() -> str | None:
    """The dataset in use this session; starts as GLR_DATA, else the demo (None)."""
    if DATASET_KEY not in st.session_state:
        st.session_state[DATASET_KEY] = paths.default_dataset()
    return st.session_state[DATASET_KEY]


def use_dataset(path: str | None) -> None:
    """Switch the session to the dataset at `path` (None or "" for the demo)."""
    st.session_state[DATASET_KEY] = (str(path).strip() or None) if path else None


# --------------------------------------------------------------------------- cached loaders


# A resource, not data: st.cache_data would unpickle a copy on every rerun, seconds for GLDv2's
# 4.1M rows. Pages only read it; curate's file check on a big catalog (over 200,000 rows)
# drops missing files from it once, which is idempotent.
@st.cache_resource(max_entries=4, show_spinner="Reading the dataset...")
def _catalog(path: str, stamp: float) -> datasets.Catalog:
    return datasets.load_catalog(path)


def load_catalog(path: str | None) -> datasets.Catalog:
    """The catalog of `path` (None: the demo), cached until the dataset changes; GlrError if unusable."""
    if not path and not demo.is_ready():
        raise GlrError("the demo dataset is not generated yet; generate it first (about a minute)")
    root = path or str(demo_dir())
    return _catalog(str(root), dataset_stamp(root))


@st.cache_data(max_entries=16, show_spinner="Curating the top classes...")
def _split(path: str, stamp: float, top_n: int, min_images: int, val_fraction: float, seed: int) -> datasets.Split:
    return datasets.curate(_catalog(path, stamp), top_n=top_n, min_images=min_images, val_fraction=val_fraction,
                           seed=seed, min_classes=datasets.TRAIN_MIN_CLASSES)


def curate(path: str | None, top_n: int, min_images: int, val_fraction: float, seed: int) -> datasets.Split:
    """The curated split of `path` (None: the demo), cached; GlrError if it cannot be made or keeps fewer classes
    than training asks for (datasets.TRAIN_MIN_CLASSES)."""
    load_catalog(path)  # same checks and messages
    root = path or str(demo_dir())
    return _split(str(root), dataset_stamp(root), int(top_n), int(min_images), float(val_fraction), int(seed))


@st.cache_data(max_entries=8, show_spinner="Reading image sizes...")
def _size_stats(path: str, stamp: float) -> dict:
    return browse.image_size_stats(_catalog(path, stamp))


def size_stats(path: str | None) -> dict:
    """Image-size statistics of a sample of the dataset's images (see glr.browse.image_size_stats), cached."""
    load_catalog(path)
    root = path or str(demo_dir())
    return _size_stats(str(root), dataset_stamp(root))


def _data_url(jpeg: bytes | None) -> str | None:
    """JPEG bytes as a data: URL (None stays None).

    st.image passes it inside the page's own message: no media file to store and hash on every rerun, and
    no HTTP request per thumbnail of a Predict page (the web server's share was 20% of the time with 8 users).
    """
    import base64

    return None if jpeg is None else "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


# Made once per process (and read from glr's disk cache once made in any process).
@st.cache_data(max_entries=2048, show_spinner=False)  # about 7 kB each
def thumbnail(path: str, size: int = browse.THUMBNAIL_PX) -> str | None:
    """A square thumbnail of an image file for st.image (a JPEG data: URL), or None if it cannot be decoded."""
    return _data_url(thumbnails.thumbnail(path, size))


@st.cache_data(max_entries=256, show_spinner=False)
def preview(digest: str, size: int, name: str, _data: bytes) -> str | None:
    """The square thumbnail of an uploaded photo for st.image (a JPEG data: URL), once per content (`digest`), or None."""
    from glr.data import uploads

    return _data_url(thumbnails.jpeg_bytes(browse.thumbnail(uploads.named_upload(name, _data), size)))


@st.cache_resource(max_entries=2, show_spinner="Loading the model...")
def _loaded(run_path: str, stamp: tuple):
    """(the run's Predictor, None), or (None, why it cannot load): once per run and stamp, shared by every session.

    A failure is kept too: a model that cannot load (labels.json from another run, a damaged file) was
    loaded again on every rerun of every session, only to fail again. A file changed on disk changes the
    stamp (pages/4_predict.py model_stamps), and the next rerun tries again.
    """
    from glr.predict import Predictor

    try:
        # One ONNX Runtime thread per call: the sessions of several users predict at once, each in its own
        # thread (ONNX Runtime releases the GIL), and a pool of threads per call would spin between calls.
        return Predictor(run_path, threads=1), None
    except GlrError as exc:
        if isinstance(exc, OSError):  # a full disk or a permission (StorageError): raised, so not kept, and tried again
            raise
        return None, str(exc)


def predictor(run_path: str, stamp: tuple):
    """The run's Predictor, loaded once per stamp (when its model, index, labels and settings last changed).

    GlrError, without loading anything again, when it could not load for this stamp. On ONNX Runtime
    (the default) this process never imports TensorFlow: a new model is converted in a child process the
    first time (glr.predict.convert_in_child).
    """
    model, problem = _loaded(run_path, stamp)
    if problem is not None:
        raise GlrError(problem)
    return model


@st.cache_data(max_entries=8, show_spinner="Finding example images...")
def examples(run_path: str, stamp: float) -> dict[int, list[str]]:
    """landmark_id -> example image paths for a run (its dataset's training images where found)."""
    catalog = None
    root = class_examples.run_dataset_root(run_path)
    if root:
        try:
            catalog = _catalog(root, browse.dataset_stamp(root))
        except GlrError:
            catalog = None  # the dataset moved: fall back to the run's validation images
    return class_examples.example_paths(run_path, catalog)


# --------------------------------------------------------------------------- shared widgets


def generate_demo() -> Path:
    """Generate the demo dataset with a progress bar (about a minute); returns its folder."""
    bar = st.progress(0.0, text="Drawing the demo dataset...")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 0.0, text=f"Drawing the demo dataset: {done:,} of {total:,} photos")

    # In a child process: its drawing workers must not import this server's pages (see ensure_demo_in_child).
    root = demo.ensure_demo_in_child(progress=progress)
    bar.empty()
    _catalog.clear()
    return root


def generate_demo_button(key: str) -> None:
    """The button that generates the demo dataset, for pages whose next step needs it."""
    if st.button("Generate the demo dataset", key=key, type="primary", icon=":material/auto_awesome:",
                 help="100 landmark classes, about 2,000 photos drawn on this computer; under a minute"):
        try:
            generate_demo()
        except GlrError as exc:
            st.error(md(exc))
            return
        use_dataset(None)
        st.rerun()


def run_demo(results: Path) -> None:
    """The whole demo: generate the demo dataset if needed, start a default training, go to the Train page."""
    from glr.training.config import TrainConfig

    lock = launch.read_lock(results) if results.is_dir() else None
    if lock or (blocker := paths.file_in_the_way(runs_dir(results))):  # before a minute of drawing the demo
        st.error(f"another training is running: {lock.get('run_id')}; stop it on the Train page first" if lock
                 else f"{md(blocker)} is a file, not a folder: no run can be saved in {md(results)}")
        return
    try:
        generate_demo()
        with st.spinner("Starting the training (recording the library versions loads TensorFlow)..."):
            run = launch.launch(results, launch.run_config(TrainConfig()))
    except GlrError as exc:  # RunError, ConfigError, DatasetError: all say what to do
        st.error(md(exc))
        return
    use_dataset(None)
    st.session_state[RUN_KEY] = run.id
    st.switch_page(TRAIN)


def demo_button(key: str) -> None:
    """The one button that runs the whole demo (data, then a default training in the background)."""
    if st.button("Run the whole demo", key=key, type="primary", icon=":material/play_arrow:",
                 help="Generates the demo dataset if needed, then trains the default model on it "
                      "in a background process (a few minutes on a laptop CPU)."):
        run_demo(results_dir())


def no_runs(what: str, key: str) -> None:
    """The empty state of a page that needs a run: what to do next, and the buttons that do it."""
    st.info(f"{what} Train a model first: run the whole demo with one click, or configure a training on the Train page.")
    with st.container(horizontal=True):  # in columns, an 800 px window cut the labels to "Ru…" and "Configu"
        demo_button(key)
        st.page_link(TRAIN, label="Configure a training", icon=":material/model_training:", width="content")


def bad_dataset(message: str, key: str) -> None:
    """The error state of a page whose dataset cannot be read: the glr message and a way out."""
    st.error(md(message))
    if current_dataset():
        if st.button("Use the demo dataset instead", key=key, icon=":material/undo:"):
            use_dataset(None)
            st.rerun()
    else:
        generate_demo_button(key)
    st.page_link(DATASET, label="Choose another dataset", icon=":material/photo_library:")


def data_problems(run: Run) -> None:
    """The problems with the data a run met (skipped files, images that would not decode), folded away."""
    if problems := run.data_problems():
        with st.expander(f"Problems with the data ({len(problems)})", icon=":material/warning:"):
            st.markdown("\n".join(f"- {md(p)}" for p in problems))
