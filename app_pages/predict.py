"""Predict: drop photos (or a zip, or use the camera); each gets its top-k landmarks and examples of the best guess.

A bad file gets its own message and the others are still predicted. Several photos, or a
zip, also give a CSV in the Kaggle submission format.
"""

import hashlib

import streamlit as st

from glr import app_data, plots, predict, runs
from glr.errors import GlrError
from app_pages import common

MAX_SHOWN = 20  # photos shown in detail; all of them are in the table and the CSV
RESULT_KEY = "predict_result"

st.title("Predict")
results = common.results_dir()
finished = app_data.finished_runs(results)
if not finished:
    common.no_runs(f"No finished run with a model in {results}.", "predict_demo")
    st.stop()

c = st.columns([3, 1])
run_id = c[0].selectbox("Model (a finished run)", finished, key="predict_run")
k = c[1].slider("Top-k", 1, 10, predict.DEFAULT_TOP_K, key="predict_k")
run_path = results / runs.RUNS_SUBDIR / run_id
try:
    app_data.check_run_for_prediction(run_path)
    model = common.predictor(str(run_path), app_data.model_stamp(run_path))
except GlrError as exc:
    st.error(str(exc))
    st.stop()

uploads = st.file_uploader("Drop photos here, or a zip of photos", type=list(app_data.UPLOAD_TYPES),
                           accept_multiple_files=True, key="predict_files")
camera = st.camera_input("Take a photo", key="predict_camera") if st.toggle("Use the camera", key="predict_use_camera") else None

files = [(f.name, f.getvalue()) for f in uploads or []]
if camera is not None:
    files.append(("camera.jpg", camera.getvalue()))
if not files:
    st.info("Drop one photo or many (JPEG, PNG, WebP, BMP, GIF, TIFF), or a zip of photos, to see what the model "
            "recognises. Try a photo from the validation set, or one of your own.")
    st.stop()

photos, problems, from_zip = app_data.expand_uploads(files)
for problem in problems:
    st.warning(problem)
if not photos:
    st.stop()

# Predict once per set of photos, model and k; widget clicks that change none of them reuse the result.
digest = hashlib.sha1(repr((str(run_path), app_data.model_stamp(run_path), k)).encode())
for name, data in photos:
    digest.update(name.encode() + b"\0" + hashlib.sha1(data).digest())
cached = st.session_state.get(RESULT_KEY)
if cached and cached[0] == digest.hexdigest():
    predictions = cached[1]
else:
    bar = st.progress(0.0, text=f"Predicting {len(photos)} photo(s)...")
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        bar.progress(min(done[0] / len(photos), 1.0), text=f"Predicted {done[0]} of {len(photos)}")

    predictions = model.predict([app_data.named_upload(n, d) for n, d in photos], k=k,
                                names=[n for n, _ in photos], progress=advance)
    bar.empty()
    st.session_state[RESULT_KEY] = (digest.hexdigest(), predictions)

examples = common.examples(str(run_path), app_data.model_stamp(run_path))
ok = sum(p.ok for p in predictions)
st.caption(f"{ok} of {len(predictions)} photo(s) predicted" + (f"; {len(predictions) - ok} could not be read." if ok < len(predictions) else "."))

if len(photos) > 1 or from_zip:
    table = predict.submission_table([app_data.photo_id(n) for n, _ in photos], predictions)
    st.download_button("Download predictions (submission CSV: id,landmarks)", table.to_csv(index=False).encode(),
                       file_name=f"submission-{run_id}.csv", mime="text/csv", icon=":material/download:",
                       key="predict_csv", on_click="ignore")
    with st.expander(f"All {len(predictions)} predictions", expanded=len(predictions) > MAX_SHOWN):
        st.dataframe(table.assign(name=[p.top[0][1] if p.ok and p.top else (p.error or "") for p in predictions]),
                     hide_index=True)

for i, ((name, data), result) in enumerate(list(zip(photos, predictions))[:MAX_SHOWN]):
    with st.container(border=True):
        st.markdown(f"**{name}**")
        if not result.ok:
            st.error(result.error)
            continue
        cols = st.columns([1, 2, 2])
        preview = app_data.thumbnail(app_data.named_upload(name, data), 320)
        if preview is not None:
            cols[0].image(preview)
        landmark_id, best, probability = result.top[0]
        cols[1].plotly_chart(plots.top_k_figure([n for _, n, _ in result.top], [p for _, _, p in result.top]),
                             key=f"topk_{i}")
        with cols[2]:
            st.markdown(f"Best guess: **{best}** ({probability:.0%}). Training images of this landmark:")
            common.show_thumbnails(examples.get(int(landmark_id), []), columns=2, size=120)
if len(predictions) > MAX_SHOWN:
    st.caption(f"Showing the first {MAX_SHOWN}; all {len(predictions)} are in the table and the CSV above.")
