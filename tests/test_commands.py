"""The CLI's shared pieces (glr.commands): progress in photos, on a terminal and in a log."""

import sys

from glr.commands import PhotoProgress


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
