"""`glr predict PHOTOS`' listing: each photo's top-k, verdict and similar photos on stdout, a batch at a time.

A zip of 5,000 photos was predicted whole before its first line was printed: minutes of silence, and Ctrl-C or a
reader gone (`| head`) lost every prediction made. Now each batch is listed as it is predicted.
"""

from __future__ import annotations

import sys
from pathlib import Path

from glr import paths
from glr.paths import shown


def predict_listed(predictor, images: list, k: int, similar: int) -> bool:
    """Whether every photo of `images` was predicted, each batch listed as it is predicted (a batch:
    glr.predict.BATCH_SIZE); when the reader leaves (`| head`), BrokenPipeError at once, not after every photo.
    (With a submission to write, glr.folder_submission predicts them, a Lister listing them.)"""
    from glr.predict import BATCH_SIZE

    # A batch's predictions are dropped once listed: 100,000 photos held one Prediction each until the end (121 MB).
    ok = True
    for start in range(0, len(images), BATCH_SIZE):
        batch = predictor.predict(images[start:start + BATCH_SIZE], k=k, similar=similar)
        ok = ok and all(p.ok for p in batch)
        say_predictions(predictor, batch)
        sys.stdout.flush()  # a batch's lines now, not when a pipe's buffer fills
    return ok


class Lister:
    """Lists each batch of predictions given to it, until the listing's reader leaves (`| head`): then `gone`, and the
    rest unlisted, as the submission asked for is still written (it was lost with the listing)."""

    def __init__(self, predictor):
        self.predictor, self.gone = predictor, False

    def __call__(self, predictions) -> None:
        if self.gone:
            return
        try:
            say_predictions(self.predictor, predictions)
            sys.stdout.flush()  # a batch's lines now, not when a pipe's buffer fills
        except BrokenPipeError:
            self.gone = True


def say_predictions(predictor, predictions) -> None:
    """Each photo's top-k (and verdict, similar photos), or why it was not predicted, on stdout."""
    from glr.evaluation import readout
    from glr.predict import training_photo_note

    for p in predictions:
        if not p.ok:
            print(f"{shown(p.source)}: error: {_unnamed(p.error, p.source)}")
            continue
        verdict = ""
        if p.known_score is not None:  # the score and threshold with the decimals that tell them apart
            score, threshold = readout.apart(p.known_score, predictor.recognizer.calibration.threshold)
            verdict = f"  NOT A KNOWN LANDMARK (known score {score} < {threshold})" if p.unknown else f"  (known score {score})"
        print(f"{shown(p.source)}{verdict}")
        if p.training_photo:  # its path and name on the note's one line, as every path of the listing
            photo = p.training_photo
            photo = {**photo, "path": shown(photo["path"]), "name": paths.one_line(photo["name"])}
            print(f"  note: {training_photo_note(photo)}")
        print(f"  {p.ranked_by(predictor.method)} confidence, landmark_id, name:")
        # Shares in the app's words (readout.percent): "0.000" said no chance of a class the model gave 0.04%.
        shares = _column(readout.percent(prob, 1) for _, _, prob in p.top)
        for (_, name, _), share, landmark_id in zip(p.top, shares, paths.id_column(t[0] for t in p.top)):
            print(f"  {share}  {landmark_id}  {paths.one_line(name)}")
        if p.similar:
            print("  most similar training photos (cosine similarity, landmark_id, name, path):")
            # No share, so a number; never one rounded onto 0 or 1 it is not (readout.similarity).
            values = _column(readout.similarity(item["similarity"]) for item in p.similar)
            for item, value, landmark_id in zip(p.similar, values, paths.id_column(i["landmark_id"] for i in p.similar)):
                # A training photo named "a<newline>b.jpg" printed "b.jpg" on a line of its own, read as a photo listed.
                print(f"  {value}  {landmark_id}  {paths.one_line(item['name'])}  {shown(item['path'])}")


def _column(texts) -> list[str]:
    """`texts` right-aligned to the widest, at least 6 wide: a column whose next column starts in one place."""
    texts = list(texts)
    width = max([6, *map(len, texts)])
    return [t.rjust(width) for t in texts]




def _unnamed(error: str, source: str) -> str:
    """A photo's error without the file's name in front (the decoder's messages begin with it), for a line that
    names the photo already: "a.pdf: error: a.pdf: not an image" said the name twice."""
    for name in (source, str(Path(source)), shown(source), shown(Path(source))):
        if error.startswith(f"{name}: "):
            return error[len(name) + 2:]
    return error
