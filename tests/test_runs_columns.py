"""glr.runs_columns: `python -m glr runs`'s table fitted to a terminal's width."""

from glr.paths import text_columns
from glr.runs_columns import LEAVE_OUT, NAME_LEAST, fit_table, footer, short_time

COLUMNS = ["run_id", "name", "state", "created", "backbone", "epochs", "val_top1"]
ROWS = [  # as glr names runs: <created>-<backbone>; the longest backbone makes a 34-character id
    ["20261207-015600-efficientnet_lite0", "", "running", "2026-12-07T01:56:00+01:00", "efficientnet_lite0", "1/10",
     "0.500*"],
    ["20261206-203453-mobilenet_v3_small", "baseline 40 epochs with augmentation", "finished",
     "2026-12-06T20:34:53+01:00", "mobilenet_v3_small", "40", "0.750"],
    ["broken-link", "", "damaged", None, None, "", ""],  # a damaged row: its times and backbone unknown
]


def test_a_time_is_short_in_its_own_clock_and_a_year_ago_is_a_date():
    assert short_time("2026-12-07T01:56:09+01:00", year=2026) == "12-07 01:56"  # as written, as the run id has it
    assert short_time("2025-12-07T01:56:09+00:00", year=2026) == "2025-12-07"
    assert short_time("edited by hand, long ago and far away", year=2026) == "edited by hand,…"


def test_at_80_columns_each_run_is_one_line_the_name_cut_and_the_ids_columns_left_out():
    lines, left_out, names_cut = fit_table(COLUMNS, ROWS, 80, year=2026)
    assert len(lines) == 4 and all(text_columns(line) <= 80 for line in lines)
    assert left_out == ["backbone", "created"] and names_cut  # both said by the id, left out before the name is cut
    assert lines[0].split() == ["run_id", "name", "state", "epochs", "val_top1"]
    assert lines[2].startswith("20261206-203453-mobilenet_v3_small  baseline 40 epo…  finished")
    assert lines[2].endswith("     40     0.750") and lines[1].endswith("   1/10    0.500*")  # numbers right-aligned
    assert lines[3].split() == ["broken-link", "damaged"]  # no "None" for what is unknown


def test_a_wide_terminal_gets_every_column_with_short_times_and_names_whole():
    lines, left_out, names_cut = fit_table(COLUMNS, ROWS, 160, year=2026)
    assert left_out == [] and not names_cut and len({text_columns(line) for line in lines}) == 1
    assert "baseline 40 epochs with augmentation  finished  12-06 20:34  mobilenet_v3_small" in lines[2]
    assert "T01:56" not in "".join(lines) and "None" not in "".join(lines)


def test_a_name_is_cut_down_to_its_least_before_a_column_goes():
    whole = text_columns(fit_table(COLUMNS, ROWS, 1000, year=2026)[0][0])
    lines, left_out, names_cut = fit_table(COLUMNS, ROWS, whole - 9, year=2026)  # the 36-column name gets 27
    assert left_out == [] and names_cut and "  baseline 40 epochs with au…  finished" in lines[2]
    assert fit_table(COLUMNS, ROWS, whole - 36 + NAME_LEAST, year=2026)[1] == []
    assert fit_table(COLUMNS, ROWS, whole - 36 + NAME_LEAST - 1, year=2026)[1] == ["backbone"]  # one short of it


def test_names_of_wide_characters_are_cut_and_padded_by_their_columns():
    rows = [["r1", "東京タワーの夜景と朝の写真すべて", "finished", None, "x", "2", "0.9"],
            ["r2", "ab", "failed", None, "x", "", ""]]
    lines, _, names_cut = fit_table(COLUMNS, rows, 46, year=2026)
    assert names_cut and "  東京タワーの夜景…  finished" in lines[1]  # 17 columns of the 18 left
    assert {text_columns(line) for line in lines} == {text_columns(lines[0])} and text_columns(lines[0]) <= 46


def test_a_terminal_too_narrow_for_the_id_and_state_still_shows_both():
    lines, left_out, _ = fit_table(COLUMNS, ROWS, 20, year=2026)
    assert left_out == list(LEAVE_OUT) and lines[0].split() == ["run_id", "state"]
    assert lines[2].split() == ["20261206-203453-mobilenet_v3_small", "finished"]  # wider than 20: wrapped, not cut


def test_the_footer_says_what_was_cut_or_left_out_and_fits_80_columns():
    assert footer(False, False, []) == []
    assert footer(True, False, []) == [
        "… messages cut to fit the terminal: `python -m glr runs --wide` shows them whole"]
    lines = footer(True, True, ["backbone", "created"], "...", 80)
    assert lines == ["... names and messages cut to fit: `python -m glr runs --wide` shows them whole",
                     "left out to fit the terminal: backbone, created (`--wide` shows them)"]
    narrow = footer(True, False, ["backbone"], width=40)
    assert all(len(line) <= 40 for line in narrow) and any("`python -m glr runs --wide`" in line for line in narrow)
