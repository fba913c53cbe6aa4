"""The CLI's shared pieces (glr.commands): progress in photos, on a terminal and in a log."""

import sys

from glr.commands import PhotoProgress, unknown_lines


def test_off_a_terminal_progress_is_a_line_at_most_every_log_seconds_and_one_at_the_end(capsys, monkeypatch):
    clock = iter([0.0, 10.0, 31.0, 40.0, 45.0, 50.0])
    monkeypatch.setattr("glr.commands.time.monotonic", lambda: next(clock))
    progress = PhotoProgress("fetching photos")
    for done in (0, 1, 2, 3, 4):
        progress(done, 4)
    progress.close()
    assert capsys.readouterr().err == ("fetching photos: 4 photos\n"
                                       "fetching photos: 2 of 4 (50%)\n"  # 31 s after the first line
                                       "fetching photos: 4 of 4 (100%)\n")


def test_on_a_terminal_it_is_a_bar_and_terminal_only_progress_is_one_line_in_a_log(capsys, monkeypatch):
    progress = PhotoProgress("generating the demo dataset", terminal_only=True)
    progress(0, 40), progress(40, 40), progress.close()
    assert capsys.readouterr().err == "generating the demo dataset: 40 photos\n"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    bar = PhotoProgress("fetching photos")
    bar(1, 2), bar.close()
    assert "\rfetching photos:   0%|          | 0/2 [" in capsys.readouterr().err


def test_a_log_line_of_progress_says_under_1_percent_not_0(capsys, monkeypatch):
    # 3 photos of 1,000 read "(0%)" after 30 s: as if nothing had been fetched.
    clock = iter([0.0, 31.0, 40.0])
    monkeypatch.setattr("glr.commands.time.monotonic", lambda: next(clock))
    progress = PhotoProgress("fetching photos")
    progress(0, 1000), progress(3, 1000), progress.close()
    assert capsys.readouterr().err == "fetching photos: 1,000 photos\nfetching photos: 3 of 1,000 (under 1%)\n"


def test_the_unknown_verdicts_shares_read_under_1_and_over_99_percent_not_0_and_100():
    # `python -m glr retrieval` printed "keeps 100.0% of validation photos and flags 0.0% of distractors" for
    # 99.96% and 0.04%, and "by source: skimage 0%" for a source with 1 of 300 photos flagged.
    unknown = {"threshold": 0.41, "val_kept": 0.9996, "distractors_flagged": 0.0004,
               "auroc": {"known_score": 0.9, "top_similarity": 0.8, "head_confidence": 0.7},
               "flagged_by_source": {"skimage": 1 / 300, "noise": 1.0}}
    lines = unknown_lines(unknown)
    assert lines[0].startswith("unknown verdict: threshold 0.410 keeps over 99.9% of validation photos and flags "
                               "under 0.1% of distractors; ROC AUC known score 0.900")
    assert lines[1] == "distractors called unknown, by source: skimage under 1%, noise 100%"
    assert len(unknown_lines({**unknown, "flagged_by_source": {}})) == 1
