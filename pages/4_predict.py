"""Predict: drop photos (or a zip, use the camera, or try a validation photo in one click); each gets its
top-k landmarks, where the model looked (Grad-CAM) and examples of the best guess.

The page says first which landmarks the model knows. A bad file gets its own message and
the others are still predicted; the same photo twice is predicted once. Several photos, or
a zip, also give a CSV in the Kaggle submission format.
"""

import sys
from pathlib import Path

# `streamlit run app.py` puts the app's folder on sys.path; AppTest, and a page run on its own, do not.
# glr and app_common live there.
if (_root := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _root)

import streamlit as st

from glr import class_examples, predict, submission, thumbnails
from glr.training import run_table
from glr.evaluation import readout
from glr.retrieval import run_index
from glr.training.run import Run
from glr.data import attribution, kept_uploads, uploads
from glr.data.layouts import plural
from glr.errors import GlrError
import app_common as common
import app_runs
import app_predict_kept
import app_upload
from app_photos import thumbnail_row

common.setup(common.PREDICT)

MAX_SHOWN = 20  # photos shown in detail; all of them are in the table and the CSV
REPEATS_SAID = 5  # photos named as dropped twice; the others in one line
SAMPLES_KEY = "predict_samples"  # the sample photos tried: [{"path", "file_name", "name"}]
INPUTS_KEY = "predict_inputs"  # bumped by "Clear all": the upload box and the camera get new, empty widgets


@st.cache_data(max_entries=8, show_spinner=False)
def samples_of(run_path: str, stamp: float) -> list[class_examples.SamplePhoto]:
    """The run's sample photos to try (validation photos of different classes)."""
    return class_examples.sample_photos(run_path)


@st.cache_data(max_entries=1024, show_spinner=False)
def predicted(run_path: str, stamp: tuple, digest: str, name: str, _data: bytes) -> predict.Prediction:
    """One photo's prediction at the sliders' largest top-k and similar count (kept_uploads.shown slices it), once per
    content (`digest`), name and model, for every session.

    A rerun (a click, one more photo, another user with the same photo) predicts only what is new.
    """
    model = common.predictor(run_path, stamp)
    return model.predict([uploads.named_upload(name, _data)], k=kept_uploads.MAX_K, names=[name],
                         similar=kept_uploads.MAX_SIMILAR)[0]


@st.cache_data(max_entries=64, show_spinner="Finding where the model looked (the first time loads TensorFlow)...")
def heatmap(run_path: str, stamp: tuple, digest: str, landmark_id: int, _data: bytes):
    """(overlay, name, probability) of a photo's Grad-CAM, once per photo content (`digest`), model and landmark."""
    from glr import explain

    return explain.gradcam_overlay(run_path, _data, landmark_id=landmark_id)


@st.cache_data(max_entries=64, show_spinner="Matching local features...")
def best_match(run_path: str, stamp: tuple, digest: str, name: str, _prediction, _data: bytes):
    """(image of the matched points, the matched training photo's row) of a verified photo, once per content and model."""
    return common.predictor(run_path, stamp).draw_best_match(uploads.named_upload(name, _data), _prediction)


@st.cache_data(max_entries=8, show_spinner=False)
def what_it_knows(run_path: str, stamp: tuple, unknown_verdict: bool) -> str:
    """The sentence saying what the model knows, once per model: it reads the run's labels and config."""
    return class_examples.what_it_knows(run_path, unknown_verdict=unknown_verdict)


BAR_CELLS = 10  # a top-k bar's resolution: 10% per cell, the percentage is printed beside it


def top_k_list(top: list[tuple[int, str, float]]) -> None:
    """A result's top-k in ONE markdown element: a numbered list, best first, each with a bar of its probability.

    One element, not one st.progress per class: each element costs the browser a render of its own,
    and the k bars were about a third of what a result cost it (benchmarks/README.md, "the Predict
    page as a fragment"); a plotly chart, before them, cost the server 12% to serialise.
    """
    lines = []
    for rank, (_, name, probability) in enumerate(top, 1):
        p = min(max(float(probability), 0.0), 1.0)
        filled = round(p * BAR_CELLS)
        bar = ((f":red[{'█' * filled}]" if filled else "") +
               (f":gray[{'░' * (BAR_CELLS - filled)}]" if filled < BAR_CELLS else ""))  # not only a colour apart
        lines.append(f"{rank}. {bar} {readout.percent(p, 1)} · {'**' + common.md(name) + '**' if rank == 1 else common.md(name)}")
    st.markdown("\n".join(lines))


def try_samples(chosen: list[class_examples.SamplePhoto]) -> None:
    """Add sample photos to the ones to predict (a photo tried again is not added twice)."""
    tried = st.session_state.setdefault(SAMPLES_KEY, [])
    for sample in chosen:
        if all(t["path"] != sample.path for t in tried):
            tried.append({"path": sample.path, "file_name": sample.file_name, "name": sample.name})


def clear_all() -> None:
    """Empty the uploads, the camera and the samples tried."""
    st.session_state[SAMPLES_KEY] = []
    st.session_state[INPUTS_KEY] = st.session_state.get(INPUTS_KEY, 0) + 1
    st.session_state["predict_use_camera"] = False


def model_stamps(run_path: str) -> tuple:
    """When the run's model, its index and its labels and settings last changed: the key of all cached of this model.

    The labels and the settings too: a class renamed in labels.json while the app serves the run was never seen.
    """
    run = Run(run_path)
    return run_table.model_stamp(run), run_index.index_stamp(run), *run_table.labels_stamp(run)


def load_model(run: Run, stamp: tuple, about) -> "tuple[predict.Predictor | None, str | None]":
    """(the run's predictor, None), or (None, why it cannot predict) with the reason shown in `about`."""
    try:
        run_table.check_run_for_prediction(run)
        model = common.predictor(str(run.path), stamp)
    except GlrError as exc:
        about.error(common.md(exc))
        return None, str(exc)
    about.info(common.md(what_it_knows(str(run.path), stamp, model.recognizer is not None)), icon=":material/school:")
    if model.recognizer is None:
        about.caption(f"No similar photos or unknown verdict for this run: {common.md(model.retrieval_problem)}")
    elif model.recognizer.verify_problem:
        about.caption(f"No spatial verification for this run: {common.md(model.recognizer.verify_problem)}")
    if model.backend_note:
        # Not str.capitalize(): it lowercases the rest, the reason's own words ("TensorFlow", an op's name) included.
        about.caption(common.md(model.backend_note[:1].upper() + model.backend_note[1:]))
    return model, None


def sample_section(run: Run) -> None:
    """The run's validation photos, each with a "Try" button (their clicks rerun the whole page)."""
    samples = samples_of(str(run.path), run_table.model_stamp(run))
    if not samples:
        return
    st.markdown("**Try a photo the model never trained on** (from its validation split) in one click, or drop "
                "your own below:")
    # A row that wraps, each photo its own narrow column: st.columns stack on a phone, and each name then sat
    # under its "Try" but just above the next photo, as if it named that one.
    row = st.container(horizontal=True)
    for i, sample in enumerate(samples):
        # Photo, its name right under it, then "Try"; the card as tall as the row's tallest and the space
        # stretched above the button, so a name on two lines does not stagger the buttons of a row.
        with row.container(width=thumbnails.SIZE, height="stretch", gap="xxsmall"):
            image = common.thumbnail(sample.path, thumbnails.SIZE)  # a data: URL, made once per process
            if image is not None:
                st.image(image, width=thumbnails.SIZE, alt=f"A validation photo of {sample.name}")
            st.caption(common.md(sample.name))
            st.space("stretch")
            st.button("Try", key=f"predict_try_{i}", on_click=try_samples, args=([sample],),
                      help=f"A validation photo of {common.md(sample.name)}")
    row.button(f"Try all {len(samples)}", key="predict_try_all", on_click=try_samples, args=(samples,))


# The upload box and everything below it: a fragment. An upload, a toggle, "Clear all" rerun only this
# function: the server skips the sidebar, the run list and the samples, and sends the browser only
# this part's elements (benchmarks/README.md, "the Predict page as a fragment"). The model select and
# the sliders are outside: changing them reruns the whole page, this fragment included.
@st.fragment
def upload_and_results(run_path: str, run_id: str, stamp: tuple, k: int, n_similar: int,
                       problem: str | None) -> None:
    """The upload box, the camera, and the predictions of what was dropped or tried (a fragment)."""
    # The upload box is drawn on every run, even when the model cannot load: photos dropped while
    # the page reruns (another model chosen, the model loading) stay in the box and are predicted by
    # the next run that has a model, or the page says why they are not. A run that skipped the box
    # would drop them without a word.
    generation = st.session_state.get(INPUTS_KEY, 0)
    suffix = f"_{generation}" if generation else ""  # a new key is a new, empty widget
    box_key = f"predict_files{suffix}"
    st.file_uploader("Drop photos here, or a zip of photos", type=list(uploads.UPLOAD_TYPES),
                     accept_multiple_files=True, key=box_key)
    camera = (st.camera_input("Take a photo", key=f"predict_camera{suffix}")
              if st.toggle("Use the camera", key="predict_use_camera") else None)
    if model_stamps(run_path) != stamp:
        # The model or its index changed on disk since the page was drawn (a resumed run finished, the
        # index rebuilt, the run deleted): a fragment-only rerun still holds that page's stamp, whose cached
        # predictor is the old model. The whole page again, with the model as it is now (the uploads stay).
        st.rerun()
    in_box = app_upload.listed(box_key)  # released files too (a DeletedFile each): the box still lists them
    if problem is not None:
        if in_box or camera is not None:
            kept = len(in_box) + (camera is not None)
            st.warning(f"Your {plural(kept, 'upload')} {'is' if kept == 1 else 'are'} kept but not predicted: "
                       "choose a model that loads.", icon=":material/pending:")
        return
    model = common.predictor(run_path, stamp)

    tried = st.session_state.get(SAMPLES_KEY, [])
    truth = {t["file_name"]: t["name"] for t in tried}
    files = [("camera.jpg", camera.getvalue())] if camera is not None else []
    for sample in tried:
        try:
            files.append((sample["file_name"], Path(sample["path"]).read_bytes()))
        except OSError as exc:
            st.warning(common.md(f"{sample['path']}: the sample photo cannot be read ({exc.strerror or exc})"))
    if not in_box:  # all taken out of the box, or "Clear all": nothing of them is kept
        st.session_state.pop(app_predict_kept.KEPT_KEY, None)
    if not files and not in_box:
        st.info("Drop one photo or many (JPEG, PNG, WebP, HEIC, AVIF, BMP, GIF, TIFF, ICO), or a zip of photos, to see what the "
                "model recognises, or try one of the validation photos above.")
        return
    st.button("Clear all", key="predict_clear", on_click=clear_all, icon=":material/delete_sweep:",
              help="Remove the uploads, the camera photo and the samples tried")

    # The server refuses bigger uploads; the same limit is checked again for what bypasses it (the camera).
    limit = st.get_option("server.maxUploadSize") * uploads.MB

    def predict_one(name: str, digest: str, data: bytes) -> predict.Prediction:
        return predicted(run_path, stamp, digest, name, data)

    # Each upload is read, predicted and kept small once, then leaves the server's memory (app_predict_kept).
    dropped = app_predict_kept.kept(box_key, limit, (run_path, stamp), predict_one)
    others, problems, from_zip = uploads.expand_uploads(files, max_file_bytes=limit)
    from_zip = from_zip or any(u.is_zip for u in dropped)
    over = app_predict_kept.over_limit(dropped)
    for problem_text in [p for u in dropped for p in u.problems] + problems + ([over] if over else []):
        st.warning(common.md(problem_text))
    # (name, digest, size, the bytes shown and explained, their key in the caches, its prediction at the sliders'
    # largest settings): an upload is shown and explained from its copy, which has a key of its own.
    items = [(p.name, p.digest, p.size, p.copy, p.digest + "-copy", p.predictions[(run_path, stamp)])
             for u in dropped for p in u.photos]
    for name, data in others:  # the camera and the samples: small, or on disk; each predicted once per content
        digest = uploads.content_digest(data)
        items.append((name, digest, len(data), data, digest, predict_one(name, digest, data)))
    items, repeats = kept_uploads.unique(items, lambda item: item[1], lambda item: item[2])
    for repeat, first in repeats[:REPEATS_SAID]:
        st.caption(f"{common.md(repeat)} was added twice: predicted once." if repeat == first else
                   f"{common.md(repeat)} is the same photo as {common.md(first)}: predicted once.")
    if len(repeats) > REPEATS_SAID:  # one line, not one per photo: a zip of 2,000 dropped twice drew 2,000
        st.caption(f"{plural(len(repeats) - REPEATS_SAID, 'more photo')} {'was' if len(repeats) == REPEATS_SAID + 1 else 'were'} "
                   "added before, as the same photo: each predicted once (the table and the CSV list them all).")
    if not items:
        return
    photos = [(name, data) for name, _, _, data, _, _ in items]
    digests = [key for *_, key, _ in items]
    predictions = [kept_uploads.shown(p, k, n_similar) for *_, p in items]

    # Off by default: Grad-CAM needs TensorFlow's gradients, and a server that loads TensorFlow takes
    # seconds and about 0.8 GB more, while ONNX Runtime predicts without it.
    show_heatmaps = st.toggle("Show where the model looked", value=False, key="predict_gradcam",
                              help="Grad-CAM: the places in the photo whose features raised the model's score for "
                                   "its best guess, on the backbone's last feature map. Dimmed margins: cut off by "
                                   "the centre crop, the model never saw them. The first time loads TensorFlow "
                                   "(seconds).")
    # Only for runs indexed with spatial verification (`python -m glr retrieval RUN --verify`).
    show_matches = any(p.inliers for p in predictions) and st.toggle(
        "Show matched points", value=False, key="predict_matches",
        help="Spatial verification: the local features of the photo that match its best verified training photo "
             "in a geometrically consistent way (RANSAC inliers). A landmark seen before shares many; a look-alike "
             "few.")
    # Off by default: a row of captioned thumbnails per photo cost each browser about as much as the rest of
    # its result (benchmarks/README.md, "the Predict page as a fragment"); the best guess already shows
    # training photos of its landmark. The toggle reruns only this fragment, and nothing is predicted again.
    show_similar = any(p.similar for p in predictions) and st.toggle(
        "Show the most similar training photos", value=False, key="predict_show_similar",
        help=f"For each photo, the {n_similar} training photos nearest to it by cosine similarity of their "
             "embeddings (how many: 'Similar photos' above), with their author and licence.")
    ok = sum(p.ok for p in predictions)
    st.caption(f"{ok} of {plural(len(predictions), 'photo')} predicted" +
               (f"; {len(predictions) - ok} could not be predicted." if ok < len(predictions) else "."))

    if len(photos) + len(repeats) > 1 or from_zip:
        photo_ids, repeat_ids = uploads.submission_ids([n for n, _ in photos], repeats)
        ids, rows = submission.with_repeats(photo_ids, predictions, repeat_ids)
        table = submission.submission_table(ids, rows)
        st.download_button("Download predictions (submission CSV: id,landmarks)", submission.csv_bytes(table),
                           file_name=f"submission-{run_id}.csv", mime="text/csv", icon=":material/download:",
                           key="predict_csv", on_click="ignore", help=submission.SUBMISSION_NOTE)
        # A toggle, not a collapsed expander: st.dataframe's grid costs each browser about 0.3 CPU-s to set
        # up even when folded away (a third of its work per 3-photo request, benchmarks/README.md). Above
        # MAX_SHOWN photos the table is the only place that lists them all, so it is shown at once.
        if len(rows) > MAX_SHOWN or st.toggle(f"Show the table of all {len(rows)} predictions", key="predict_table"):
            st.dataframe(table.assign(name=[p.top[0][1] if p.ok and p.top else (p.error or "") for p in rows]),
                         hide_index=True, alt="Predictions, one row per photo")

    examples = common.examples(run_path, stamp[0])
    for (name, data), digest, result in list(zip(photos, digests, predictions))[:MAX_SHOWN]:
        show_result(model, run_path, stamp, name, data, digest, result, truth.get(name), examples,
                    show_heatmaps, show_matches, show_similar)
    if len(predictions) > MAX_SHOWN:
        st.caption(f"Showing the first {MAX_SHOWN}; all {len(predictions)} are in the table and the CSV above.")


def show_result(model, run_path: str, stamp: tuple, name: str, data: bytes, digest: str, result: predict.Prediction,
                truth: str | None, examples: dict[int, list[str]], show_heatmaps: bool, show_matches: bool,
                show_similar: bool) -> None:
    """One photo's result in a bordered box: its preview, top-k, best guess with examples, and similar photos."""
    with st.container(border=True):
        st.markdown(f"**{common.md(name)}**")
        if not result.ok:
            st.error(common.md(result.error))
            return
        if truth:
            st.caption(f"A validation photo of {common.md(truth)}")
        if result.training_photo:
            st.info(common.md(predict.training_photo_note(result.training_photo)), icon=":material/school:")
        cols = st.columns([1, 1, 2, 2] if show_heatmaps else [1, 2, 2])
        preview = common.preview(digest, 320, name, data)
        if preview is not None:
            cols[0].image(preview, alt=f"Your photo {name}")
        landmark_id, best, probability = result.top[0]
        if show_heatmaps:
            with cols[1]:
                try:
                    cam, cam_name, _ = heatmap(run_path, stamp, digest, int(landmark_id), data)
                    st.image(cam, caption=f"Where it looked for {common.md(cam_name)} (Grad-CAM: red counts most)",
                             alt=f"Where the model looked for {cam_name}: a heatmap over your photo, red counting most")
                except GlrError as exc:
                    st.caption(f"No heatmap: {common.md(exc)}")
        with cols[-2]:
            top_k_list(result.top)
        with cols[-1]:
            if result.unknown:
                score, threshold = readout.apart(result.known_score, model.recognizer.calibration.threshold, 2)
                st.warning(f"**Not a known landmark.** Its known score {score} is below the run's threshold {threshold}, "
                           f"which keeps {readout.percent(model.recognizer.calibration.keep_known)} of the validation photos. "
                           f"The closest landmark would be {common.md(best)}.", icon=":material/help:")
            else:
                score = f"; known score {result.known_score:.2f}" if result.known_score is not None else ""
                st.markdown(f"Best guess: **{common.md(best)}** ({readout.percent(probability)} by {result.ranked_by(model.method)}{score}). "
                            "Training images of this landmark:")
                thumbnail_row(examples.get(int(landmark_id), []), alts=f"A training photo of {best}")
        if show_matches and result.inliers:
            try:
                drawn = best_match(run_path, stamp, digest, name, result, data)
            except GlrError as exc:  # the training photo is gone (a dataset moved since the index was built)
                drawn = None
                st.caption(f"No matched points: {common.md(exc)}")
            if drawn is not None:
                st.image(drawn[0], caption=f"{drawn[1]['inliers']} matched points with a training photo of "
                                           f"{common.md(drawn[1]['name'])} (RANSAC inliers)",
                         alt=f"Your photo beside a training photo of {drawn[1]['name']}, lines joining matched points")
        if show_similar and result.similar:
            st.markdown("Most similar training photos")
            paths = [s["path"] for s in result.similar]
            credits = attribution.credits(paths)  # author and licence, as the licences require
            thumbnail_row(paths, [f"{s['name']} · {readout.similarity(s['similarity'], 2)}" + (f" · {c}" if c else "")
                                  for s, c in zip(result.similar, credits)],
                          alts=[f"A training photo of {s['name']}" for s in result.similar])


st.title("Predict")
results = common.results_dir()
runs_table = app_runs.run_list(results)  # read again only when a run's files change
finished = run_table.finished_runs(results, runs_table)
if not finished:
    common.no_runs(f"No finished run with a model in {common.md(results)}.", "predict_demo")
    st.stop()

c = st.columns([3, 1, 1])
gone = st.session_state.get("predict_run")  # the run chosen before this rerun; the select falls back to the newest
gone = gone if gone is not None and gone not in finished else None
run_names = run_table.run_labels(runs_table)  # by the name given on the Train page too, as the other pages
run_id = c[0].selectbox("Model (a finished run)", finished, key="predict_run", format_func=lambda r: run_names.get(r, r))
k = c[1].slider("Top-k", 1, kept_uploads.MAX_K, predict.DEFAULT_TOP_K, key="predict_k")
n_similar = c[2].slider("Similar photos", 0, kept_uploads.MAX_SIMILAR, 6, key="predict_similar",
                        help="The most similar training photos, by cosine similarity of their embeddings")
run = Run.of(results, run_id)
stamp = model_stamps(str(run.path))
# Three containers made on every run, whatever they hold: the fragment's id depends on its position
# on the page, and an upload sent while the page reruns names the fragment by that id. A fragment
# that moved (one caption more above it) would no longer be found, and the upload would be lost.
about, samples_box, fragment_box = st.container(), st.container(), st.container()
if gone is not None:  # deleted, or its model removed, since the page was drawn: say so, not switch in silence
    about.warning(f"Run {common.md(gone)} is no longer among the finished runs (deleted, or its model removed): "
                  f"showing {common.md(run_id)}.", icon=":material/swap_horiz:")
model, problem = load_model(run, stamp, about)
if model is not None:
    with samples_box:
        sample_section(run)
with fragment_box:
    upload_and_results(str(run.path), run_id, stamp, k, n_similar, problem)
