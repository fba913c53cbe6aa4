"""The submission: which files are photos, their ids, where the CSV goes, and the unknown photos ranked last."""

import numpy as np
import pandas as pd
import pytest

from conftest import write_image
from glr.errors import GlrError
from glr.submission import submission_table


def test_submission_table_format():
    from glr.predict import Prediction

    table = submission_table(["a", "b"], [Prediction("a", [(12, "x", 0.5)]), Prediction("b", error="bad")])
    assert table.to_dict("records") == [{"id": "a", "landmarks": "12 0.500000"}, {"id": "b", "landmarks": ""}]



def test_with_repeats_keeps_every_id_of_a_repeated_photo():
    from glr.predict import Prediction
    from glr.submission import with_repeats

    a, b = Prediction("a.jpg", top=[(3, "A", 0.9)]), Prediction("b.jpg", top=[(5, "B", 0.8)])
    ids, rows = with_repeats(["a", "b"], [a, b], [("a2", "a"), ("a", "a"), ("orphan", "gone")])
    assert (ids, rows) == (["a", "b", "a2"], [a, b, a])
    assert submission_table(ids, rows)["landmarks"].tolist() == ["3 0.900000", "5 0.800000", "3 0.900000"]
    assert with_repeats(["a"], [a]) == (["a"], [a])


# --- the submission respects the unknown verdict ----------------------------------------------


def _known_and_distractors(seed=0, n_known=40, n_distractors=25, wrong_verdicts=3):
    """Predictions for known photos (true label) and distractors (true -1) with a verdict that is mostly right.

    The distractors get confidences as high as the known photos', as a look-alike does;
    `wrong_verdicts` known photos are called unknown and as many distractors known.
    """
    from glr.predict import Prediction

    rng = np.random.default_rng(seed)
    predictions, true = [], []
    for i in range(n_known + n_distractors):
        distractor = i >= n_known
        label = int(rng.integers(0, 5))
        pred = label if distractor or rng.random() < 0.8 else (label + 1) % 5
        unknown = distractor != (i < wrong_verdicts or n_known <= i < n_known + wrong_verdicts)
        predictions.append(Prediction(f"p{i}", top=[(pred, f"L{pred}", float(rng.uniform(0.2, 1.0)))],
                                      known_score=0.1 if unknown else 0.9, unknown=unknown))
        true.append(-1 if distractor else label)
    return predictions, true


def _parsed(table):
    cells = [c.split() for c in table["landmarks"]]
    return [int(c[0]) if c else None for c in cells], [float(c[1]) if c else 0.0 for c in cells]


@pytest.mark.parametrize("seed", range(5))
def test_submission_ranks_unknown_photos_last_and_gap_with_distractors_rises(seed):
    from glr.evaluation.metrics import gap

    predictions, true = _known_and_distractors(seed)
    ids = [p.source for p in predictions]
    raw = [p.top[0][2] for p in predictions]
    pred, conf = _parsed(submission_table(ids, predictions))
    unknown = np.array([p.unknown for p in predictions])
    known_conf, unknown_conf = np.array(conf)[~unknown], np.array(conf)[unknown]
    assert known_conf.min() > 0.5 > unknown_conf.max()  # every unknown photo after every known one
    for group in (~unknown, unknown):  # the order within each group is kept
        order = np.argsort(-np.array(raw)[group], kind="stable")
        assert np.all(np.diff(np.array(conf)[group][order]) <= 0)
    before = gap([p.top[0][0] for p in predictions], raw, true, ids=ids)
    after = gap(pred, conf, true, ids=ids)
    assert after > before
    # The same ranking as the retrieval evaluation's gap_distractors_unknown (confidence minus 1 when unknown).
    assert after == pytest.approx(gap([p.top[0][0] for p in predictions], list(np.array(raw) - unknown), true, ids=ids))
    # Empty predictions drop the false unknowns' hits too: never above "last".
    empty_pred, empty_conf = _parsed(submission_table(ids, predictions, unknown="empty"))
    assert [p for p, u in zip(empty_pred, unknown) if u] == [None] * unknown.sum()
    assert gap(empty_pred, empty_conf, true, ids=ids) <= after
    assert _parsed(submission_table(ids, predictions, unknown="keep"))[1] == pytest.approx(raw, abs=1e-6)


def test_gap_with_distractors_never_drops_even_when_the_verdict_is_wrong():
    from glr.evaluation.metrics import gap
    from glr.predict import Prediction

    # A verdict exactly backwards still keeps the known photos' relative order: GAP without distractors is unchanged.
    predictions, true = _known_and_distractors(1, wrong_verdicts=0)
    for p in predictions:
        p.unknown = not p.unknown
    pred, conf = _parsed(submission_table([p.source for p in predictions], predictions))
    known = [i for i, t in enumerate(true) if t != -1]
    assert gap([pred[i] for i in known], [conf[i] for i in known], [true[i] for i in known]) == pytest.approx(
        gap([predictions[i].top[0][0] for i in known], [predictions[i].top[0][2] for i in known], [true[i] for i in known]))
    # No verdict (an older run): the raw confidence, as before.
    old = [Prediction("a", [(1, "x", 0.25)])]
    assert submission_table(["a"], old)["landmarks"].tolist() == ["1 0.250000"]
    with pytest.raises(GlrError, match="choose one of: last, empty, keep"):
        submission_table(["a"], old, unknown="drop")


def test_submission_confidence_bounds():
    from glr.submission import submission_confidence

    assert submission_confidence(0.0, False) > 0.5 and f"{submission_confidence(0.0, False):.6f}" > "0.500000"
    assert submission_confidence(1.0, True) < 0.5 and f"{submission_confidence(1.0, True):.6f}" < "0.500000"
    assert submission_confidence(1.0, False) == 1.0 and submission_confidence(0.0, True) == 0.0
    assert submission_confidence(0.8, False) == pytest.approx(0.9) and submission_confidence(0.8, True) == pytest.approx(0.4)


def test_ids_stay_unique_when_files_share_a_stem(tmp_path):
    from glr.submission import unique_ids

    root = tmp_path / "photos"
    paths = [root / "a" / "image.jpg", root / "image.bmp", root / "image.webp", root / "image.webp.png", root / "image.jpg"]
    ids = unique_ids([str(p) for p in paths], root)
    # The first keeps its stem; the others add their extension, then their path in the folder, then ~2.
    assert ids == ["image", "image.bmp", "image.webp", "image.webp.png", "image.jpg"]
    again = unique_ids([str(root / "b" / "x.jpg"), str(root / "c" / "x.jpg"), str(root / "d" / "x.jpg"), str(root / "x.jpg")], root)
    assert again == ["x", "x.jpg", "d/x.jpg", "x.jpg~2"]
    assert len(set(again)) == len(again)


def test_default_submission_path_is_beside_the_folder(tmp_path):
    from glr.submission import default_submission_path, write_submission

    assert default_submission_path(tmp_path / "photos") == tmp_path / "photos-submission.csv"
    assert default_submission_path(str(tmp_path / "photos") + "/") == tmp_path / "photos-submission.csv"
    table = pd.DataFrame({"id": ["a"], "landmarks": ["1 0.5"]})
    assert write_submission(tmp_path, table) == tmp_path / "submission.csv"  # a folder: submission.csv inside
    (tmp_path / "a-file").write_text("")
    # glr.atomic names the file in the way (it said "cannot write the submission (File exists)" before).
    with pytest.raises(GlrError, match=r"x\.csv: cannot be written, .*/a-file is a file where a folder must be .*"
                                       r"move that file away, or choose another place"):
        write_submission(tmp_path / "a-file" / "x.csv", table)


def test_scan_folder_passes_over_nas_and_mac_folders(tmp_path):
    from glr.submission import scan_folder

    write_image(tmp_path / "a.jpg", seed=1)
    write_image(tmp_path / "trip" / "b.jpg", seed=2)
    write_image(tmp_path / "@eaDir" / "a.jpg" / "SYNOPHOTO_THUMB_XL.jpg", seed=3)  # a Synology NAS's thumbnails
    write_image(tmp_path / "__MACOSX" / "._a.jpg", seed=4)
    images, skipped = scan_folder(tmp_path)
    assert images == [str(tmp_path / "a.jpg"), str(tmp_path / "trip" / "b.jpg")] and skipped == []


def test_scan_folder_lists_a_run_folder_inside_once_and_reads_nothing_in_it(finished_run, tmp_path):
    # A folder holding the results: the run's report charts (collage.png, curves.png) were predicted as
    # photos, and its model, index and tables listed one by one as skipped files.
    import shutil

    from glr.submission import scan_folder

    write_image(tmp_path / "a.jpg", seed=1)
    run = shutil.copytree(finished_run.path, tmp_path / "results" / "runs" / finished_run.id)
    assert list(run.rglob("*.png"))  # the report's charts are there
    images, skipped = scan_folder(tmp_path)
    assert images == [str(tmp_path / "a.jpg")]
    assert skipped == [(str(run), "a glr run folder: its charts and files are not photos to predict")]


def test_scan_folder_lists_an_export_unzipped_among_the_photos_once(tmp_path):
    """An export unzipped into the photos (its model, labels.json, predict.py, a SavedModel's folder) was listed file
    by file as skipped, as any other non-photo; now once, as a run folder is, and nothing in it is read."""
    import json

    from glr.export_script import example_script
    from glr.submission import scan_folder

    write_image(tmp_path / "a.jpg", seed=1)
    export = tmp_path / "run1-savedmodel"
    (export / "saved_model" / "variables").mkdir(parents=True)
    (export / "saved_model" / "saved_model.pb").write_bytes(b"\0")
    (export / "predict.py").write_text(example_script("savedmodel", "tensorflow"), encoding="utf-8")
    (export / "preprocessing.json").write_text(json.dumps({"resize_to": 37, "input_size": 32}))
    (export / "labels.json").write_text("[]")
    write_image(export / "a_test_photo.jpg", seed=2)  # a photo the user tried it on, beside predict.py: left out too
    images, skipped = scan_folder(tmp_path)
    assert images == [str(tmp_path / "a.jpg")]
    assert skipped == [(str(export), "a glr export folder (a model, its labels and predict.py): its files are not "
                                     "photos to predict")]


def test_scan_folder_lists_a_folder_it_cannot_list_and_a_link_whose_photo_is_gone(tmp_path, monkeypatch):
    import os

    from glr import submission

    for name in ("a.jpg", "locked/b.jpg", "c/d.jpg"):
        write_image(tmp_path / name, seed=len(name))
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (tmp_path / ".cache").mkdir()
    real = os.scandir

    def scandir(path="."):  # as chmod 000 does for a user who is not root (the tests may run as root)
        if os.path.basename(os.fspath(path)) in ("locked", ".cache"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)
    monkeypatch.setattr(submission.os, "scandir", scandir)
    images, skipped = submission.scan_folder(tmp_path)
    assert images == [str(tmp_path / "a.jpg"), str(tmp_path / "c" / "d.jpg")]
    # Was passed over in silence: "2 predicted, 0 skipped" with 4 photos there.
    assert dict(skipped) == {
        str(tmp_path / "locked"): "a folder that cannot be listed (Permission denied): its photos are not predicted",
        str(tmp_path / "gone.jpg"): f"a link to {tmp_path / 'nowhere.jpg'}, which is not there (moved, deleted, or on "
                                    "a drive not mounted?)"}


def test_scan_folder_lists_a_pipe_a_socket_and_a_device_as_not_regular_files(tmp_path):
    """A FIFO or socket in the folder was passed over in silence ("1 predicted, 0 skipped"), where the same FIFO given
    alone says "not a regular file": each is listed now, whatever its name, never opened; a hidden one stays hidden."""
    import os
    import socket

    from glr import submission

    write_image(tmp_path / "a.jpg", seed=1)
    os.mkfifo(tmp_path / "pipe.jpg")
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "sub" / "fifo")
    os.mkfifo(tmp_path / ".hidden.jpg")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "app.sock"))
    (tmp_path / "null.jpg").symlink_to("/dev/null")  # a link to a device
    try:
        images, skipped = submission.scan_folder(tmp_path)
    finally:
        server.close()
    assert images == [str(tmp_path / "a.jpg")]
    assert skipped == [(str(tmp_path / "app.sock"), "not a regular file (a socket)"),
                       (str(tmp_path / "null.jpg"), "not a regular file (a device)"),
                       (str(tmp_path / "pipe.jpg"), "not a regular file (a named pipe)"),
                       (str(tmp_path / "sub" / "fifo"), "not a regular file (a named pipe)")]
    assert submission.special_file(tmp_path / "a.jpg") is None and submission.special_file(tmp_path / "gone") is None


def test_two_submissions_written_to_one_file_at_once_leave_one_whole(tmp_path):
    """Two `glr predict ... --out same.csv` at once: the file is always one of the two submissions, whole (each is
    written to a temporary file and moved into place), never a mix or a cut file; the later one stays."""
    import threading

    from glr.submission import write_submission

    out = tmp_path / "same.csv"
    tables = [pd.DataFrame({"id": [f"{who}{i:05d}" for i in range(5000)], "landmarks": f"{n} 0.500000"})
              for n, who in enumerate("ab")]
    texts = [table.to_csv(index=False, lineterminator="\n") for table in tables]
    seen, stop = set(), threading.Event()

    def write(table):
        for _ in range(15):
            write_submission(out, table)

    def read():
        while not stop.is_set():
            if out.exists():
                seen.add(out.read_text(encoding="utf-8"))

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(table,)) for table in tables]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    stop.set()
    reader.join()
    assert seen and seen <= set(texts)
    assert out.read_text(encoding="utf-8") in texts and not [p for p in tmp_path.iterdir() if p != out]


def test_a_zip_in_a_folder_of_photos_says_to_give_it_on_its_own(tmp_path):
    # ".zip is not an image type", where the same zip given alone to glr predict has its photos predicted.
    from glr.submission import ZIP_IN_FOLDER, scan_folder

    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "album.ZIP").write_bytes(b"PK\x05\x06" + bytes(18))
    assert scan_folder(tmp_path) == ([str(tmp_path / "a.jpg")], [(str(tmp_path / "album.ZIP"), ZIP_IN_FOLDER)])
    assert ZIP_IN_FOLDER == "a zip: its photos are not read from inside a folder; give the zip on its own to predict them"


def test_a_raw_a_sidecar_and_a_video_are_skipped_by_kind_not_as_no_image_type(tmp_path):
    # Each was ".NEF is not an image type (.jpg, ...)", where training says "camera raw photo: export it as JPEG first".
    from glr.submission import scan_folder

    for name in ("a.jpg", "DSC_1.NEF", "a.jpg.xmp", "IMG_1.MOV", "notes.txt"):
        (tmp_path / name).write_bytes(b"\xff\xd8\xff")
    images, skipped = scan_folder(tmp_path)
    assert images == [str(tmp_path / "a.jpg")]
    assert {name.rsplit("/", 1)[1]: why.split(":")[0] for name, why in skipped} == {
        "DSC_1.NEF": "a camera raw photo", "IMG_1.MOV": "a video", "a.jpg.xmp": "a sidecar file",
        "notes.txt": ".txt is not an image type (.jpg, .jpeg, .jfif, .jpe, .png, .webp, .heic, .heif, .avif, .bmp, .gif, .tif, .tiff, .ico)"}
