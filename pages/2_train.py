"""Train: follow the training that runs (first, above everything), configure and start a run, manage the runs.

Training never runs inside Streamlit: Start calls glr.training.launch.launch, which starts
`python -m glr train` in its own session. This page only reads the run folder, so closing
the browser leaves the training alone and reopening the page finds it again.
"""

import sys
from pathlib import Path

# `streamlit run app.py` puts the app's folder on sys.path; AppTest, and a page run on its own, do not.
# glr and app_common live there.
if (_root := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _root)

import streamlit as st

from glr.data import browse
from glr.data.datasets import MAX_SEED
from glr.demo import dataset as demo
from glr.training import run_table
from glr.backbones import registry as backbones
from glr.evaluation import plots
from glr.training import launch
from glr.training.run import NAME_MAX, Run, RunError, setting
from glr.training.status import ACTIVE_STATES
from glr.training.config import AUGMENT_SPACES, TrainConfig
from glr.training.settings import AUTO_MAX_FINE_TUNE_EPOCHS, page_fine_tune_epochs, page_fine_tune_placeholder
from glr.errors import GlrError
from glr.paths import demo_dir
import app_common as common
import app_style
import app_runs

common.setup(common.TRAIN)

DEFAULTS = TrainConfig()


@st.cache_data(show_spinner=False, max_entries=16)
def auto_fine_tune(data, backbone, top_n, input_size):
    """`fine_tune="auto"`'s choice for the dataset at that image size (None if it cannot be read): the toggle's default."""
    from glr.training.settings import fine_tune_choice

    try:
        return fine_tune_choice(TrainConfig(data=data, backbone=backbone, top_n=int(top_n),
                                            input_size=int(input_size) if input_size else None))
    except GlrError:
        return None
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2]
DENSE_SIZES = [32, 64, 128, 256, 512, 1024, 2048]

st.title("Train")
results = common.results_dir()
dataset = common.current_dataset()
table = app_runs.run_list(results)  # read again when a run's files change
# The training holding the results folder's lock; else a run that says it trains (started by another
# glr, or by hand with `python -m glr train`).
active = common.active_run(results) or next(
    (Run.of(results, r) for r, state in zip(table["run_id"], table["state"]) if state in ACTIVE_STATES), None)


def live_view(run_path: str, was_active: bool, key: str) -> None:
    """A run's state, stage, one progress bar, elapsed and remaining time, curves and log; polled while it trains."""
    run = Run(run_path)
    status = run.status()
    state = status["state"]
    message = status.get("message") or ""
    shown = {"finished": st.success, "failed": st.error, "damaged": st.error, "stopped": st.warning}.get(state, st.info)
    shown(f"**{state}**" + (f": {common.md(message)}" if message else ""))
    try:
        history = run.history()
    except RunError as exc:
        st.error(common.md(exc))
        history = None
    fraction, text = run_table.progress_of(status)
    st.progress(fraction, text=text)
    spent = run_table.elapsed(status)
    if spent is not None:
        timing = f"elapsed {run_table.duration_text(spent)}"
        if state in ACTIVE_STATES:
            left = run_table.time_left(status, history)
            stage = str(status.get("phase") or "this stage")
            timing += f" · about {run_table.duration_text(left)} left in {stage}" if left is not None else ""
            if left is not None and status.get("unit") == "batch":
                timing += " (early stopping may end it sooner)"
        st.caption(timing)
    if state == "stopping":  # a second Stop would change nothing; Start comes back once it has stopped
        st.caption("Stopping: the trainer finishes its current batch, saves a checkpoint and ends as stopped.")
    elif state in ACTIVE_STATES and st.button("Stop", icon=":material/stop:", key=f"{key}_stop",
                                            help="The trainer finishes its current batch, saves a checkpoint "
                                                 "and ends as stopped; Resume continues it."):
        try:  # RunError: a process paused (Ctrl-Z) as it wrote the run's status holds it; the stop flag is up
            launch.stop(run)
        except GlrError as exc:  # a toast outlives this fragment's next rerun
            st.toast(str(exc), icon=":material/error:", duration="infinite")
        else:
            st.rerun()
    # Ctrl-Z in its terminal (its state's message says "paused"): continued from here as a resume would
    if state in ACTIVE_STATES and launch.paused_pids(run) and st.button(
            "Continue", icon=":material/play_arrow:", key=f"{key}_continue", help="The paused training goes on where it was."):
        launch.continued(run)
        st.rerun()
    if history is not None and len(history):
        if diverged := run_table.divergence(history):  # the curves stop there, or are blank: say why above them
            st.warning(common.md(diverged), icon=":material/trending_up:")
        c = st.columns(2)
        c[0].plotly_chart(plots.history_figure(history, "loss"), key=f"{key}_loss", alt="Loss by epoch",
                          config=app_style.chart_config())
        c[1].plotly_chart(plots.history_figure(history, "accuracy"), key=f"{key}_accuracy",
                          alt="Accuracy by epoch", config=app_style.chart_config())
    if state == "failed" and status.get("traceback"):
        with st.expander("Traceback"):
            st.code(status["traceback"], language="text", wrap_lines=True)
    common.data_problems(run)
    with st.expander("train.log (last lines)"):
        st.code(run_table.log_tail(run.log_path) or "(empty)", language="text", wrap_lines=True)
    if was_active and state not in ACTIVE_STATES:
        st.rerun()  # the training ended: redraw the whole page (toast, next steps, buttons, run list) once


def next_steps(run: Run, key: str) -> None:
    """What to do with a finished run: read its results, try it on photos."""
    c = st.container(horizontal=True)  # columns cut the labels in a narrow window
    if c.button("See its results", icon=":material/insights:", key=f"{key}_results", type="primary"):
        common.open_run(common.RESULTS, run.id)
    if run.has_model() and c.button("Try it on photos", icon=":material/image_search:", key=f"{key}_predict"):
        common.open_run(common.PREDICT, run.id)


def run_dataset(run: Run) -> str | None:
    """The dataset folder `run` trains on, as its configuration records it (None if it cannot be read)."""
    try:
        return setting(run.config(), "data") or None
    except GlrError:  # a damaged config: its own message is in the run list
        return None


def run_epochs(run: Run) -> int | None:
    """The run's total of phase-1 epochs, as its configuration records it (None if it cannot be read)."""
    try:
        total = setting(run.config(), "epochs")
    except GlrError:  # a damaged config: its own message is in the run list
        return None
    return total if isinstance(total, int) else None


def trained_elsewhere(run: Run) -> str | None:
    """The dataset `run` trains on, if it is not the one in use here (chosen since Start, or in another tab)."""
    def where(path) -> Path:
        return Path(path or demo_dir()).expanduser().resolve()

    data = run_dataset(run)
    return data if data and where(data) != where(dataset) else None


# --------------------------------------------------------------------------- the training going on, first
if active:
    with st.container(border=True):
        st.subheader(f"Training now: {common.md(active.label())}")
        if other := trained_elsewhere(active):
            st.caption(f"It trains on {common.md(other)}. Start will use the dataset in use now, "
                       f"{common.md(browse.dataset_label(dataset))}.")
        st.fragment(run_every=common.POLL_SECONDS)(live_view)(str(active.path), True, "now")
elif (ended := st.session_state.get(common.ENDED_KEY)) and Run.of(results, ended).path.is_dir():
    ended_run = Run.of(results, ended)
    ended_status = ended_run.status()
    with st.container(border=True):
        st.subheader(f"Training {common.md(ended_run.label())}: {ended_status['state']}")
        message = ended_status.get("message") or ""
        st.markdown(common.md(message))
        if ended_status["state"] == "finished":
            st.markdown("Next: read its results, or try it on photos.")
            next_steps(ended_run, "ended")
        else:
            st.markdown("Resume it from the run list below, or start another.")
        if st.button("Dismiss", key="ended_dismiss", icon=":material/close:"):
            st.session_state.pop(common.ENDED_KEY, None)
            st.rerun()

# --------------------------------------------------------------------------- dataset
st.markdown(f"**Dataset:** {common.md(browse.dataset_label(dataset))} · **results folder:** {common.md(results)}")
dataset_ok = True
if not dataset and not demo.is_ready():
    st.info("The demo dataset is not generated yet. Start generates it inside the training process "
            "(about a minute more), or generate it now and look at it on the Dataset page first.")
    common.generate_demo_button("train_generate")
elif dataset:
    try:
        common.load_catalog(dataset)
    except GlrError as exc:
        dataset_ok = False
        common.bad_dataset(str(exc), "train_bad_dataset")

# --------------------------------------------------------------------------- configuration
st.subheader("Configuration")
names = backbones.list_backbones()
c = st.columns([1, 2])
backbone = c[0].selectbox("Backbone", names, key="train_backbone", persist_state="session",
                          format_func=lambda n: f"{n}: {backbones.get_backbone(n).description}")
ready, why = backbones.weights_status(backbone)
with c[1]:
    st.write("")
    (st.success if ready else st.warning)(why, icon=":material/check_circle:" if ready else ":material/cloud_download:")
native = backbones.get_backbone(backbone).input_size

c = st.columns(4)
input_size = c[0].number_input("Image size (px)", min_value=32, max_value=1024, step=32, value=None,
                               placeholder=f"native: {native}", key="train_input_size", persist_state="session",
                               help="Empty: the backbone's native size. Smaller is faster and less accurate.")
top_n = c[1].number_input("Top-N classes", min_value=2, max_value=100_000, value=DEFAULTS.top_n, step=10,
                          key="train_top_n", persist_state="session")
epochs = c[2].number_input("Epochs (head)", min_value=1, max_value=1000, value=DEFAULTS.epochs,
                           key="train_epochs", persist_state="session",
                           help="Early stopping ends sooner when the validation loss stops improving.")
learning_rate = c[3].select_slider("Learning rate", LEARNING_RATES, value=DEFAULTS.learning_rate,
                                   format_func=lambda v: f"{v:.0e}", key="train_lr", persist_state="session")

c = st.columns(3)
dropout = c[0].slider("Dropout", 0.0, 0.9, DEFAULTS.dropout, 0.05, key="train_dropout", persist_state="session")
hidden = c[1].select_slider("Dense size", DENSE_SIZES, value=DEFAULTS.hidden, key="train_hidden",
                            persist_state="session")
augment_space = c[2].selectbox(
    "Crops taken from", AUGMENT_SPACES, index=AUGMENT_SPACES.index(DEFAULTS.augment_space), key="train_augment_space",
    persist_state="session", format_func=lambda v: {"images": "images (K views)", "features": "the feature maps"}[v],
    help="The feature maps (the default): windows of the maps of the centre crop and its mirror image, two backbone "
         "passes per photo. Images: K augmented crops, one pass each, about twice as slow from an empty cache and "
         "no more accurate as measured (benchmarks/README.md).")
toggles = st.container(horizontal=True, gap="large")  # in a fourth column, 800 px cut them to "Augmen…", "Fine-…"
augment = toggles.toggle("Augmentation (crop and flip)", value=DEFAULTS.augment, key="train_augment",
                         persist_state="session")
auto = auto_fine_tune(dataset, backbone, top_n, input_size) if dataset_ok and (dataset or demo.is_ready()) else None
fine_tune = toggles.toggle("Fine-tune the backbone", value=bool(auto and auto.on), key="train_fine_tune",
                           persist_state="session", help="Phase 2, end to end: slow on a CPU. On by default when its "
                                                         "estimated cost on this machine is a few minutes.")
if auto:
    st.caption(f"Default, decided for this dataset: {auto.reason}.")

with st.expander("More settings"):
    c = st.columns(4)
    fine_tune_epochs = c[0].number_input("Fine-tune epochs", min_value=0, max_value=100, value=None,
                                         placeholder=page_fine_tune_placeholder(auto, DEFAULTS.fine_tune_epochs),
                                         key="train_ft_epochs", persist_state="session", disabled=not fine_tune,
                                         help="Empty: what auto chose for this dataset, up to "
                                              f"{AUTO_MAX_FINE_TUNE_EPOCHS} epochs on a small one "
                                              f"({DEFAULTS.fine_tune_epochs} when fine-tuning is forced on).")
    batch_size = c[1].number_input("Batch size", min_value=1, max_value=4096, value=DEFAULTS.batch_size,
                                   key="train_batch", persist_state="session")
    patience = c[2].number_input("Patience (epochs)", min_value=1, max_value=1000, value=DEFAULTS.patience,
                                 key="train_patience", persist_state="session")
    weights = c[3].selectbox("Weights", ["imagenet", "random"], key="train_weights", persist_state="session",
                             help="random: no pretrained weights (a baseline; features are not cached).")
    c = st.columns(4)
    min_images = c[0].number_input("Min images per class", min_value=2, max_value=1000, value=DEFAULTS.min_images,
                                   key="train_min_images", persist_state="session")
    val_fraction = c[1].slider("Validation fraction", 0.05, 0.5, DEFAULTS.val_fraction, 0.05, key="train_val",
                               persist_state="session")
    seed = c[2].number_input("Seed", min_value=0, max_value=MAX_SEED, value=DEFAULTS.seed, key="train_seed",
                             persist_state="session")
    label_smoothing = c[3].slider("Label smoothing", 0.0, 0.5, DEFAULTS.label_smoothing, 0.05, key="train_smoothing",
                                  persist_state="session")
    c = st.columns(4)
    views = c[0].slider("Augmented views K", 1, 16, DEFAULTS.views, key="train_views", persist_state="session",
                        disabled=augment_space != "images",
                        help="With crops taken from images: views per training image whose features are cached "
                             "once, the centre crop's mirror image, then random crops and flips.")
    workers = c[1].radio("Workers", [1, 2], horizontal=True, key="train_workers", persist_state="session",
                         help="Local worker processes under tf.distribute, sharing the CPU: the cluster mode "
                              "in small (docs/scale-out.md). Not faster on one machine's cores.")

lock = launch.read_lock(results) if results.is_dir() else None
if lock and not active:  # a lock whose run is not found here: Start says what holds it
    st.warning(f"A training is running in this results folder: {lock.get('run_id')}. "
               "Only one runs at a time.")
if active and active.status()["state"] == "stopping":  # "stop it" would read as if the Stop pressed was lost
    st.info(f"{common.md(active.label())} is stopping: Start comes back once it has stopped (after its current "
            "batch and a checkpoint).", icon=":material/hourglass_top:")
elif active:
    st.info(f"Start is disabled while {common.md(active.label())} trains: only one training runs at a time in {common.md(results)}. "
            "Stop it above, or wait for it to end.", icon=":material/hourglass_top:")
if st.button("Start training", type="primary", icon=":material/play_arrow:", key="train_start",
             disabled=not dataset_ok or active is not None,
             help=f"{common.md(active.label())} is training; stop it or wait for it to end" if active else None):
    try:
        config = TrainConfig.from_dict({
            "data": dataset, "top_n": top_n, "min_images": min_images, "val_fraction": val_fraction, "seed": seed,
            "backbone": backbone, "weights": None if weights == "random" else "imagenet", "input_size": input_size,
            "augment": augment, "augment_space": augment_space, "views": views, "hidden": hidden, "dropout": dropout, "epochs": epochs,
            "batch_size": batch_size, "learning_rate": learning_rate, "label_smoothing": label_smoothing,
            "patience": patience, "fine_tune": fine_tune,
            "fine_tune_epochs": page_fine_tune_epochs(auto, fine_tune_epochs, DEFAULTS.fine_tune_epochs),
        })
        if dataset or demo.is_ready():  # a refused curation said now, with no run made to fail a second later
            common.curate(dataset, top_n, min_images, val_fraction, seed)
        with st.spinner("Starting the training process..."):
            run = launch.launch(results, launch.run_config(config), workers=workers)
    except GlrError as exc:  # ConfigError, RunError ("another training is running"), ...
        st.error(common.md(exc))
    else:
        st.session_state[common.RUN_KEY] = run.id
        st.session_state.pop(common.ENDED_KEY, None)
        st.toast(f"Started {run.id}")
        st.rerun()

# --------------------------------------------------------------------------- runs
st.subheader("Runs")
if (done := st.session_state.pop("train_done", None)):
    st.success(done, icon=":material/check:")
if table.empty:
    st.info(f"No runs yet in {common.md(results)}. Set the configuration above and press Start training, "
            "or run the whole demo from the Home page.")
    st.stop()

ids = table["run_id"].tolist()
labels = run_table.run_labels(table)
states = dict(zip(table["run_id"], table["state"]))
wanted = st.session_state.get(common.RUN_KEY)
default = wanted if wanted in ids else run_table.default_run(table)
# The state in the label is read when the page runs; a training's own state is live above.
selected = st.selectbox("Run", ids, index=ids.index(default),
                        format_func=lambda r: f"{labels[r]} ({'training' if active and r == active.id else states[r]})")
st.session_state[common.RUN_KEY] = selected
run = Run.of(results, selected)
status = run.status()

if active and selected == active.id:
    st.caption("This run is training: it is followed live at the top of the page.")
else:
    if status["state"] == "finished" and st.session_state.get(common.ENDED_KEY) != run.id:  # else offered above
        next_steps(run, "selected")
    if status["state"] in ("stopped", "failed"):
        total = run_epochs(run)
        c = st.container(horizontal=True, vertical_alignment="bottom")
        new_total = c.number_input("Total epochs (phase 1)", min_value=1, max_value=max(10_000, total or 0),
                                   value=total, key=f"train_resume_epochs_{run.id}",
                                   help="Phase 1 (the head): more epochs than it has done trains it longer.")
        if c.button("Resume", icon=":material/resume:", key=f"train_resume_{run.id}", disabled=active is not None,
                    help="Continue from the last checkpoint." if not active else f"{common.md(active.label())} is training"):
            try:
                launch.resume(run, results, workers=workers, epochs=new_total if new_total not in (None, total) else None)
            except GlrError as exc:
                st.error(common.md(exc))
            else:
                st.session_state.pop(common.ENDED_KEY, None)
                st.rerun()
    live_view(str(run.path), False, "selected")

# Buttons keyed by run, as Resume is: a click on a run deleted meanwhile acted on the run shown after it.
with st.expander("Rename or delete this run"):
    c = st.container(horizontal=True, vertical_alignment="bottom")  # a quarter column cut the button to "Save t…"
    name = c.text_input("Name", value=run.name() or "", max_chars=NAME_MAX, key=f"train_name_{run.id}",
                        placeholder="e.g. baseline, 40 epochs", help="Shown in the run lists; the id stays the same.")
    if c.button("Save the name", key=f"train_rename_{run.id}", icon=":material/edit:"):
        try:
            run.set_name(name)
        except GlrError as exc:
            st.error(common.md(exc))
        else:
            st.session_state["train_done"] = f"Renamed {run.id}" if name.strip() else f"{run.id} has no name now"
            st.rerun()
    busy = status["state"] in ACTIVE_STATES
    sure = st.checkbox(f"Yes, delete {common.md(run.label())} and everything in its folder (model, history, results)",
                       key=f"train_delete_sure_{run.id}", disabled=busy)
    if busy:
        st.caption("A run cannot be deleted while it trains: stop it first.")
    if st.button("Delete the run", key=f"train_delete_{run.id}", icon=":material/delete:", disabled=busy or not sure):
        label = run.label()  # read before its folder, which holds the name, goes
        try:
            launch.delete_run(run)
        except GlrError as exc:  # it started training meanwhile
            st.error(common.md(exc))
        else:
            st.session_state.pop(common.RUN_KEY, None)
            if st.session_state.get(common.ENDED_KEY) == run.id:
                st.session_state.pop(common.ENDED_KEY, None)
            st.session_state["train_done"] = f"Deleted {common.md(label)}"
            st.rerun()

with st.expander(f"All runs ({len(table)})", expanded=False):
    st.dataframe(table, hide_index=True, column_config=common.RUN_TABLE_COLUMNS, alt="All runs")
