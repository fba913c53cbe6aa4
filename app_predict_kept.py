"""The Predict page's upload box: each file is read once when it arrives, predicted, kept small, and released.

Not a page (Streamlit makes a page of every .py file in pages/): it lives beside app.py, as app_upload.py does.
What is kept of each upload (glr.data.kept_uploads) is in session state under the file's upload id, so a rerun,
a slider or a toggle reads nothing again; the file itself leaves Streamlit's memory as the Dataset page's do
(app_upload.release). The box keeps its key and lists the file, and its ✕ still takes the photo out: the box's
raw state (app_upload.listed) lists a released file as a DeletedFile, with its id.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from glr import predict as predict_module
from glr.data import kept_uploads, uploads
from glr.data.layouts import plural
import app_upload

KEPT_KEY = "predict_kept"  # upload id of a file in the box -> its KeptUpload
MODELS_KEPT = 4  # predictions kept per photo: the models chosen last (one more is predicted again from the copy)


def kept(widget_key: str, max_file_bytes: int, model_key: tuple,
         predict: Callable[[str, str, bytes], object]) -> list[kept_uploads.KeptUpload]:
    """The uploads in the box `widget_key`, in its order, each read and predicted (by `predict(name, digest, bytes)`,
    as `model_key`) the first time it is seen, then released; the others predicted from their copies if the model
    is new to them."""
    files = app_upload.listed(widget_key)
    store = st.session_state.setdefault(KEPT_KEY, {})
    for gone in set(store) - {f.file_id for f in files}:  # taken out of the box (its ✕), or "Clear all"
        del store[gone]
    new = [f for f in files if f.file_id not in store and hasattr(f, "getvalue")]
    room = kept_uploads.MAX_PHOTOS - sum(len(k.photos) for k in store.values())
    read = []
    for file in new:
        if room <= 0:  # released unread, and said once for all of them (`over_limit`)
            store[file.file_id] = kept_uploads.KeptUpload(file.name, [], [], False, skipped=True)
            continue
        photos, problems, is_zip = uploads.expand_uploads([(file.name, file.getvalue())], max_file_bytes)
        if len(photos) > room:
            problems.append(kept_uploads.OVER_LIMIT.format(count=f"{file.name}: {len(photos) - room} of its photos",
                                                           name=photos[room][0], limit=kept_uploads.MAX_PHOTOS))
            photos = photos[:room]
        room -= len(photos)
        read.append((file, photos, problems, is_zip))
    todo = sum(len(photos) for _, photos, _, _ in read) + sum(
        len(k.photos) for k in store.values() if any(model_key not in p.predictions for p in k.photos))
    with Progress(todo) as progress:
        for file, photos, problems, is_zip in read:
            kept_photos = []
            for name, data in photos:
                photo = kept_uploads.kept_photo(name, data)
                photo.predictions[model_key] = predict(name, photo.digest, data)  # from the original, once
                kept_photos.append(photo)
                progress.step()
            # Stored once all its photos are: a run cut short (one more drop) reads the file again next time.
            store[file.file_id] = kept_uploads.KeptUpload(file.name, kept_photos, problems, is_zip)
        for upload in store.values():
            for photo in upload.photos:
                if model_key not in photo.predictions:
                    photo.predictions[model_key] = again(photo, predict)
                    progress.step()
                    while len(photo.predictions) > MODELS_KEPT:
                        photo.predictions.pop(next(iter(photo.predictions)))
    app_upload.release(files, store)
    # A released file the store does not know (its session state lost) has nothing left to show: skipped.
    return [store[f.file_id] for f in files if f.file_id in store]


def over_limit(dropped: list[kept_uploads.KeptUpload]) -> str | None:
    """One sentence for the files not read because the box held MAX_PHOTOS photos already, or None."""
    skipped = [upload.name for upload in dropped if upload.skipped]
    if not skipped:
        return None
    return kept_uploads.OVER_LIMIT.format(count=plural(len(skipped), "more file"), name=skipped[0],
                                          limit=kept_uploads.MAX_PHOTOS)


def again(photo: kept_uploads.KeptPhoto, predict):
    """A kept photo's prediction by another model: from its copy, or the reason it could not be read, as before."""
    if photo.copy is not None:
        return predict(photo.name, photo.digest + "-copy", photo.copy)
    before = next(iter(photo.predictions.values()))
    if not before.ok:  # its original could not be decoded: by no model either
        return before
    return predict_module.Prediction(source=photo.name, error=f"{photo.name}: no copy of it was kept to predict "
                                                              "again with this model; drop it again")


class Progress:
    """A progress bar over `total` photos predicted, when there are more than one; gone once they are."""

    def __init__(self, total: int):
        self.total, self.done, self.bar = total, 0, None

    def __enter__(self):
        if self.total > 1:
            self.bar = st.progress(0.0, text=f"Predicting {plural(self.total, 'photo')}...")
        return self

    def step(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.progress(self.done / self.total, text=f"Predicted {self.done} of {self.total}")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.empty()
