"""Parsing GLDv2's train.csv and train_clean.csv."""

import codecs
import re

import pandas as pd
import pytest

from glr.data.train_csv import parse_labels, read_train_csv
from glr.errors import DatasetError


def _rows(df: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(df["id"].tolist(), df["landmark_id"].tolist()))


def test_any_header_case_and_a_semicolon_separator(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_text('"ID"; Landmark_ID ;url\nabc1;7;http://x\nabc2;8;http://y\n')
    df, problems = read_train_csv(csv)
    assert _rows(df) == [("abc1", "7"), ("abc2", "8")] and problems == []


def test_train_clean_gives_one_row_per_id(tmp_path):
    csv = tmp_path / "train_clean.csv"
    csv.write_text("landmark_id,images\n1,aaa bbb \n2,\n3,ccc\n")
    df, _ = read_train_csv(csv)
    assert _rows(df) == [("aaa", "1"), ("bbb", "1"), ("ccc", "3")]


def test_a_file_without_the_columns_names_what_it_found(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_text("photo,label\na,1\n")
    with pytest.raises(DatasetError, match="missing column 'id' and 'landmark_id'; found 'photo', 'label'"):
        read_train_csv(csv)


def test_labels_are_plain_integers_only():
    labels = parse_labels(pd.Series(["12", "12.0", "1.5", "0x1f", "", "abc", "+3"], dtype="string"))
    assert labels.tolist() == [12, 12, pd.NA, pd.NA, pd.NA, pd.NA, 3]


@pytest.mark.parametrize("header", ["image_id,landmark_id", "id,Landmark", "Image ID;landmark id",
                                    # R's read.csv/write.csv (`landmark.id`), a dash: were "missing column 'landmark_id'"
                                    "id,landmark.id", "image.id,landmark-id", "file.name,Landmark.ID"])
def test_other_names_for_the_columns_are_read_as_them(tmp_path, header):
    # Many Kaggle kernels write `image_id`; it was "missing column 'id'".
    csv = tmp_path / "train.csv"
    sep = ";" if ";" in header else ","
    csv.write_text(f"{header}\nabc1{sep}7\nabc2{sep}8\n")
    assert _rows(read_train_csv(csv)[0]) == [("abc1", "7"), ("abc2", "8")]


def test_a_column_that_may_be_the_landmark_or_its_name_is_named_not_guessed(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_text("id,label\nabc1,7\n")
    with pytest.raises(DatasetError, match="missing column 'landmark_id'.*if 'label' holds the landmark ids, rename it landmark_id"):
        read_train_csv(csv)


def test_a_file_without_its_header_line_says_so(tmp_path):
    # Was "missing column 'id' and 'landmark_id'; found 'd52e...', 'https://...', '7'".
    csv = tmp_path / "train.csv"
    csv.write_text("d52e1bb9aa5e1a4f,https://example.org/a.jpg,7\nabc2,https://example.org/b.jpg,8\n")
    with pytest.raises(DatasetError, match=r"has no header line: its first line \('d52e1bb9aa5e1a4f', .*is a row of data; "
                                           "add a first line naming the columns, `id,landmark_id`"):
        read_train_csv(csv)


def test_lines_ended_by_a_bare_carriage_return_are_read(tmp_path):
    # Excel for Mac's "CSV (Macintosh)": was "its first line is not a CSV header (new-line character seen ...)".
    csv = tmp_path / "train.csv"
    csv.write_bytes(b"id,url,landmark_id\rabc1,http://x,7\rabc2,http://y,8\r")
    assert _rows(read_train_csv(csv)[0]) == [("abc1", "7"), ("abc2", "8")]


def test_a_header_repeated_inside_the_file_is_no_row(tmp_path):
    # `cat part1.csv part2.csv > train.csv` leaves the second header as a row: it was listed as a row whose
    # landmark_id 'landmark_id' is not an integer.
    csv = tmp_path / "train.csv"
    csv.write_text("id,landmark_id\nabc1,7\nid,landmark_id\nabc2,8\n")
    assert _rows(read_train_csv(csv)[0]) == [("abc1", "7"), ("abc2", "8")]


@pytest.mark.parametrize("data, what", [
    (b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml", r"an Excel workbook \(.xlsx\)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", r"an old Excel workbook \(.xls\)"),
])
def test_a_spreadsheet_saved_under_a_csv_name_is_named(tmp_path, data, what):
    # Was "is not UTF-8 text; save it as UTF-8 CSV" (or "missing column" for an .xlsx whose first line decoded).
    csv = tmp_path / "train.csv"
    csv.write_bytes(data)
    with pytest.raises(DatasetError, match=f"train.csv: is {what}, not a CSV file; save it as \"CSV UTF-8"):
        read_train_csv(csv)


@pytest.mark.parametrize("content", [
    "sep=;\nid;landmark_id\nabc1;7\nabc2;8\n",  # Excel's line saying the separator, before the header
    "\ufeffsep=,\r\nid,landmark_id\r\nabc1,7\r\nabc2,8\r\n",
    "id|url|landmark_id\nabc1|http://x|7\nabc2|http://y|8\n",  # a pipe-separated export
])
def test_excels_sep_line_and_a_pipe_separator_are_read(tmp_path, content):
    # Were "missing column 'id' and 'landmark_id'; found 'sep=', ''" and "... found 'id|url|landmark_id'".
    csv = tmp_path / "train.csv"
    csv.write_bytes(content.encode())
    assert _rows(read_train_csv(csv)[0]) == [("abc1", "7"), ("abc2", "8")]


@pytest.mark.parametrize("text", [
    "id,landmark_id\nabc1,7,\nabc2,8,\n",  # a script's trailing separator
    "sep=;\r\nid;landmark_id\r\nabc1;7;;\r\nabc2;8;;\r\n",  # a spreadsheet's empty columns past the header
    "id,landmark_id\nabc1,7,\nabc2,8,",  # no line end after the last row
])
def test_rows_ending_in_empty_fields_the_header_lacks_are_read(tmp_path, text):
    # Was "cannot be parsed as CSV (Expected 2 columns, got 3: abc1,7,)": the whole file refused.
    csv = tmp_path / "train.csv"
    csv.write_text(text)
    df, _ = read_train_csv(csv)
    assert _rows(df) == [("abc1", "7"), ("abc2", "8")]


def test_a_row_with_a_value_past_the_header_is_still_refused(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_text("id,landmark_id\nabc1,7,\nabc2,8,x\n")
    with pytest.raises(DatasetError, match="cannot be parsed as CSV"):
        read_train_csv(csv)


@pytest.mark.parametrize("text", [
    "id,landmark_id\nabc1,7,\nabc2,8\nabc3,9\n",  # the first row only
    "id,landmark_id\nabc1,7\nabc2,8,\nabc3,9,,\n",  # some rows only, not the first
    "id,url,landmark_id\nabc1,http://x/1.jpg,7,\nabc2,http://x/2.jpg,8\n\nabc3,\"http://x/3,4.jpg\",9,\n",
    "sep=;\r\nid;landmark_id\r\nabc1;7\r\nabc2;8;\r\nabc3;9\r\n   \r\n",
])
def test_rows_ending_in_a_separator_on_some_lines_only_are_read(tmp_path, text):
    # Was "cannot be parsed as CSV (Expected 3 columns, got 2: abc2,8)": the width was taken from the first row.
    # (pandas reads such a file with every value shifted one column left, in silence.)
    csv = tmp_path / "train.csv"
    csv.write_text(text)
    df, _ = read_train_csv(csv)
    assert _rows(df) == [("abc1", "7"), ("abc2", "8"), ("abc3", "9")]


@pytest.mark.parametrize("text, line", [
    ("id,landmark_id\nabc1,7,\nabc2,8\nabc3,9,x\n", "line 4 has a value past the header's columns: abc3,9,x"),
    ("id,landmark_id\nabc1,7\nabc2,8,\nabc3\n", "line 4 has fewer fields than the header: abc3"),
    ("id,landmark_id\nabc1,7,\nabc2,8,x\n", "line 3 has a value past the header's columns: abc2,8,x"),
])
def test_a_row_of_another_width_that_is_not_only_empty_fields_names_its_line(tmp_path, text, line):
    csv = tmp_path / "train.csv"
    csv.write_text(text)
    with pytest.raises(DatasetError, match=re.escape(f"{csv}: cannot be parsed as CSV ({line}); fix or delete that line")):
        read_train_csv(csv)


@pytest.mark.parametrize("data", [
    "id\tlandmark_id\r\nabc1\t7\r\nabc2\t8\r\n".encode("utf-16"),  # Excel's "Unicode Text": UTF-16 LE, a BOM, tabs
    codecs.BOM_UTF16_BE + "id,landmark_id\nabc1,7\nabc2,8\n".encode("utf-16-be"),
    "id,landmark_id\r\nabc1,7\r\nabc2,8\r\n".encode("utf-16-le"),  # PowerShell's Out-File: no BOM
    "id,landmark_id\r\nabc1,7\r\nabc2,8\r\n".encode("utf-16-be"),
    "sep=;\r\nid;landmark_id\r\nabc1;7\r\nabc2;8\r\n".encode("utf-16"),  # with Excel's separator line
    "id,landmark_id\nabc1,7\nabc2,8\n".encode("utf-32"),
], ids=["excel-unicode-text", "utf16-be-bom", "utf16-le", "utf16-be", "utf16-sep-line", "utf32"])
def test_utf16_with_or_without_its_byte_order_mark_is_read(tmp_path, data):
    # Were "is UTF-16 text (Excel's "Unicode Text"), not a CSV file" and "is UTF-16 text, not a CSV file"; UTF-32:
    # "is UTF-16 text" too (its mark starts as UTF-16's).
    csv = tmp_path / "train.csv"
    csv.write_bytes(data)
    assert _rows(read_train_csv(csv)[0]) == [("abc1", "7"), ("abc2", "8")]


def test_utf16_cut_short_mid_character_says_so(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_bytes("id,landmark_id\r\nabc1,7\r\nabc2,8\r\n".encode("utf-16")[:-1])
    with pytest.raises(DatasetError, match=r"train.csv: is UTF-16 text that does not decode \(truncated data: cut short"):
        read_train_csv(csv)


@pytest.mark.parametrize("data", [
    b'"sep=;"\nid;landmark_id\nabc1;7\nabc2;8\n',  # the line written as a quoted CSV cell
    b'\xef\xbb\xbf"sep=;"\r\nid;landmark_id\r\nabc1;7\r\nabc2;8\r\n',  # with a BOM before it
    b"sep=;;\nid;landmark_id\nabc1;7\nabc2;8\n",  # followed by the row's other (empty) cells
], ids=["quoted", "bom-quoted", "empty-cells"])
def test_excels_sep_line_quoted_or_with_empty_cells_after_it_is_read(tmp_path, data):
    # Were "missing column 'id' and 'landmark_id'; found 'sep=;'" (or 'sep=', ''): the line was not recognised.
    csv = tmp_path / "train.csv"
    csv.write_bytes(data)
    assert _rows(read_train_csv(csv)[0]) == [("abc1", "7"), ("abc2", "8")]


@pytest.mark.parametrize("data", [
    b"id,landmark_id\r\nabc1,7\r\nabc2,8\x1a",  # right after the last row
    b"id,landmark_id\r\nabc1,7\r\nabc2,8\r\n\x1a",  # on a line of its own
    "id,landmark_id\r\nabc1,7\r\nabc2,8\r\n\x1a".encode("utf-16"),
], ids=["after-the-row", "own-line", "utf16"])
def test_a_dos_end_of_file_mark_is_no_part_of_the_last_row(tmp_path, data):
    # Old DOS tools end a file with Ctrl-Z (0x1A). Were: a last label '8\x1a' ("not an integer"), and
    # "line 4 has fewer fields than the header".
    csv = tmp_path / "train.csv"
    csv.write_bytes(data)
    assert _rows(read_train_csv(csv)[0]) == [("abc1", "7"), ("abc2", "8")]


def test_a_file_padded_or_filled_with_zero_bytes_says_it_was_never_written(tmp_path):
    # A crash or a cut copy leaves zeros where the text should be: the message quoted the raw NUL bytes.
    csv = tmp_path / "train.csv"
    csv.write_bytes(b"id,landmark_id\nabc1,7\nabc2,8\n" + b"\x00" * 64)
    with pytest.raises(DatasetError, match="holds zero bytes where text should be, so part of it was never written") as err:
        read_train_csv(csv)
    assert "\x00" not in str(err.value)
    csv.write_bytes(b"\x00" * 4096)
    with pytest.raises(DatasetError, match="holds only zero bytes, so it was never written"):
        read_train_csv(csv)


@pytest.mark.parametrize("data", [
    b"id,landmark_id\nabc1,7\n" + b"\x00" * 512 + b"abc2,8\nabc3,9\n",  # a block of zeros inside the file
    b"id,landmark_id\nabc1,7\nabc2,8\x00\nabc3,9\n",
], ids=["block", "one"])
def test_zero_bytes_inside_a_row_say_the_file_was_never_written_there(tmp_path, data):
    # Was the row skipped as "an id that is not a plain file name (e.g. '\x00\x00...')", 512 of them quoted, or
    # as "not an integer"; a block on a line of its own refused the file: both now say what the zeros are.
    csv = tmp_path / "train.csv"
    csv.write_bytes(data)
    with pytest.raises(DatasetError, match=re.escape("holds zero bytes where text should be (in 1 row, e.g. line 3), "
                                                     "so part of it was never written")) as err:
        read_train_csv(csv)
    assert "\x00" not in str(err.value)


@pytest.mark.parametrize("data", [b"id,landmark_id", b"sep=;\r\nid;landmark_id", b"\xef\xbb\xbfid,landmark_id,"])
def test_a_header_without_a_line_end_is_a_file_without_rows(tmp_path, data):
    # Was "cannot be parsed as CSV (Could not skip initial 1 rows from CSV file, either file is too short or ...)".
    csv = tmp_path / "train.csv"
    csv.write_bytes(data)
    assert read_train_csv(csv)[0].empty


@pytest.mark.parametrize("text", [
    "id;url;landmark_id\r\nabc1;u;7\r\nabc2;u;8\r\n;;\r\n;;\r\n",  # Excel: rows formatted, then emptied
    "id,landmark_id\nabc1,7\n,\nabc2,8\n,\n",
    "sep=;\rid;landmark_id\rabc1;7\rabc2;8\r;\r",  # Excel for Mac: bare CR line ends
], ids=["semicolons", "commas", "bare-cr"])
def test_lines_of_separators_only_are_no_rows(tmp_path, text):
    # Were rows without an id or a landmark_id: "2 rows have no id; skipped" for a file with no such row.
    csv = tmp_path / "train.csv"
    csv.write_text(text, newline="")
    assert _rows(read_train_csv(csv)[0]) == [("abc1", "7"), ("abc2", "8")]
    csv.write_text(text.replace("abc2", ""), newline="")  # a row that lost its id is still a row, to be named
    assert len(read_train_csv(csv)[0]) == 2


@pytest.mark.parametrize("text, what", [
    ("<!DOCTYPE html>\n<html><body>Sign in to Kaggle</body></html>\n",
     "is an HTML page, not a CSV file (a download that failed, or asked for a login?); download it again"),
    ("\ufeff  <html lang=en>", "is an HTML page, not a CSV file"),
    ('[{"id": "abc1", "landmark_id": 7}]', "is JSON, not a CSV file; save it as CSV with a header `id,landmark_id`"),
    ("\n\nid,landmark_id\nabc1,7\n", "its first line is blank; delete the blank lines above its header `id,landmark_id`"),
])
def test_a_file_that_is_no_csv_or_starts_blank_says_so(tmp_path, text, what):
    # Were "missing column 'id' and 'landmark_id'; found '<!doctype html>...'" and "is empty" for a file with rows.
    csv = tmp_path / "train.csv"
    csv.write_text(text)
    with pytest.raises(DatasetError, match=re.escape(what)):
        read_train_csv(csv)


def test_a_header_repeated_after_a_bom_is_no_row(tmp_path):
    # `cat part1.csv part2.csv` of two files Excel saved as "CSV UTF-8": the second header starts with a BOM and
    # was read as a row whose landmark_id 'landmark_id' is not an integer.
    csv = tmp_path / "train.csv"
    csv.write_text("\ufeffid,landmark_id\nabc1,7\n\ufeffid,landmark_id\nabc2,8\n")
    df, _ = read_train_csv(csv)
    assert _rows(df) == [("abc1", "7"), ("abc2", "8")]


def test_a_whole_number_with_a_decimal_comma_is_an_integer():
    # Excel in most of Europe saves a number column formatted with decimals as "12,0" (in a `;` file); those were
    # "not an integer". "1,000" and "1.000" are refused: each may be a thousands group (1000) as much as three
    # decimals (1.000 was read as 1, merging landmark 1000 into landmark 1 for a European Excel's thousands format).
    labels = parse_labels(pd.Series(["12,0", "12,00", " 7,0 ", "12,5", "1,000", "12,", "-3,0", "1.000", "12.0000"],
                                    dtype="string"))
    assert labels.tolist() == [12, 12, 7, pd.NA, pd.NA, pd.NA, -3, pd.NA, 12]


def test_labels_in_quotes_after_a_space_or_with_invisible_characters_are_integers():
    # `abc , "12"`: the parser keeps quotes that follow a space; a zero-width space comes with a pasted value.
    labels = parse_labels(pd.Series([' "12"', "\u200b7", "8\ufeff", '"x"'], dtype="string"))
    assert labels.tolist() == [12, 7, 8, pd.NA]


@pytest.mark.parametrize("header", ["id,url", "id"])
def test_gldv2s_test_or_index_csv_given_as_the_dataset_is_named(tmp_path, header):
    # GLDv2's test.csv and index.csv carry no landmarks: "missing column 'landmark_id'; found 'id', 'url'" alone
    # left the user looking for a column that the file never had.
    csv = tmp_path / "test.csv"
    csv.write_text(header + "\n" + ",".join(["abc1", "http://x/abc1.jpg"][:header.count(",") + 1]) + "\n")
    with pytest.raises(DatasetError, match=re.escape("GLDv2's test.csv and index.csv list photos without their "
                                                     "landmarks: use train.csv (or train_clean.csv)")):
        read_train_csv(csv)


def test_a_train_csv_that_links_to_a_file_gone_says_so(tmp_path):
    # Was "is not a regular file; expected a CSV file": the link is listed as train.csv, and is one.
    csv = tmp_path / "train.csv"
    csv.symlink_to(tmp_path / "moved" / "train.csv")
    with pytest.raises(DatasetError, match=re.escape(f"train.csv: is a link to {tmp_path / 'moved' / 'train.csv'}, "
                                                     "which is not there (moved, deleted, or on a drive not mounted?)")):
        read_train_csv(csv)


def test_a_header_with_characters_no_one_sees_finds_its_columns(tmp_path):
    # A header pasted from a web page: "missing column 'id'; found '\u200bid', 'landmark_id\u00a0'".
    csv = tmp_path / "train.csv"
    csv.write_text("\u200bid,landmark_id\u00a0\u2060\nabc1,7\n")
    df, _ = read_train_csv(csv)
    assert _rows(df) == [("abc1", "7")]


@pytest.mark.parametrize("above, n", [("GLDv2 export 2024-01-01,,\n", 2), ("# exported by photos.py\n# 2024\n", 3)])
def test_a_title_or_comment_line_above_the_header_says_where_the_header_is(tmp_path, above, n):
    # A report's title or a script's comment above the header: "missing column 'id'; found 'gldv2 export ...'"
    # alone left the user to guess that the header was there, one line down.
    csv = tmp_path / "train.csv"
    csv.write_text(above + "id,url,landmark_id\n0123456789abcdef,u,1\n")
    lines = "line" if n == 2 else "lines"
    with pytest.raises(DatasetError, match=re.escape(f"; its header is line {n}: delete the {n - 1} {lines} above it")):
        read_train_csv(csv)


@pytest.mark.parametrize("compress, kind", [("gzip", "a gzip archive"), ("bz2", "a bzip2 archive")])
def test_a_compressed_train_csv_under_its_plain_name_says_it_is_compressed(tmp_path, compress, kind):
    # `curl -o train.csv` of a gzip-encoded answer, or a file gzipped in place and renamed: was "is not UTF-8 text;
    # save it as UTF-8 CSV", which no re-save of a compressed file mends.
    import bz2
    import gzip

    csv = tmp_path / "train.csv"
    csv.write_bytes({"gzip": gzip, "bz2": bz2}[compress].compress(b"id,landmark_id\nabc1,7\n"))
    with pytest.raises(DatasetError, match=re.escape(f"{csv}: is {kind}, not a CSV file: unpack it, and name what it "
                                                     "gives train.csv")):
        read_train_csv(csv)


def test_a_label_with_a_spreadsheets_text_prefix_is_its_number():
    # `'12`: a spreadsheet's mark for a number kept as text, saved with the cell; it was "not an integer".
    labels = parse_labels(pd.Series(["'12", "'+3", "'12.0", " '7 ", "'abc", "''12", "'1.5", "'", "12'"], dtype="string"))
    assert labels.tolist() == [12, 3, 12, 7, pd.NA, pd.NA, pd.NA, pd.NA, pd.NA]


@pytest.mark.parametrize("column", ["filename", "File_Name", "path", "image_name"])
def test_a_file_name_or_path_column_is_the_id_column(tmp_path, column):
    # A train.csv of one's own names its photos `filename` or `path`: "missing column 'id'".
    csv = tmp_path / "train.csv"
    csv.write_text(f"{column},landmark_id\nimages/a1.jpg,1\nb2.jpg,2\n")
    df, problems = read_train_csv(csv)
    assert df["id"].tolist() == ["images/a1.jpg", "b2.jpg"] and problems == []
    csv.write_text("filename,path,landmark_id\na1.jpg,images/a1.jpg,1\n")  # two candidates: neither is taken
    with pytest.raises(DatasetError, match="missing column 'id'"):
        read_train_csv(csv)


@pytest.mark.parametrize("header, found, hint", [
    ("Image_ID,Label", "found 'Image_ID', 'Label'", "if 'Label' holds the landmark ids, rename it landmark_id"),
    ('"Photo";"Landmark";Notes', "found 'Photo', 'Landmark', 'Notes'", None),
    ("ID,URL", "found 'ID', 'URL'", "GLDv2's test.csv and index.csv list photos"),
])
def test_a_missing_column_is_said_with_the_header_as_the_file_writes_it(tmp_path, header, found, hint):
    # It showed glr's own reading of the header: "found 'id', 'label'" for a file whose header is `Image_ID,Label`.
    csv = tmp_path / "train.csv"
    csv.write_text(f"{header}\nabc,1,x\n".replace(",", ";") if ";" in header else f"{header}\nabc,1\n")
    with pytest.raises(DatasetError) as caught:
        read_train_csv(csv)
    message = str(caught.value)
    if "Landmark" in header:  # `landmark` is an alias of landmark_id: only the id is missing
        assert "missing column 'id'" in message and "has no header line" not in message
    else:
        assert "missing column 'landmark_id'" in message
    assert found + ". Expected" in message
    assert hint is None or hint in message


@pytest.mark.parametrize("text", [
    "id,landmark_id,\nabc1,1\nabc2,2\n",  # a sheet's column formatted but never named or filled
    "id;landmark_id;;\nabc1;1\nabc2;2;;\n",  # LibreOffice's `;`, some rows with the empty cells, some without
    "ID,Landmark_ID, \r\nabc1,1\r\nabc2,2\r\n",
])
def test_a_header_ending_in_empty_columns_over_rows_without_them_is_read(tmp_path, text):
    # Every row was refused: "line 2 has fewer fields than the header".
    csv = tmp_path / "train.csv"
    csv.write_text(text, newline="")
    df, _ = read_train_csv(csv)
    assert df["id"].tolist() == ["abc1", "abc2"] and df["landmark_id"].tolist() == ["1", "2"]


def test_an_empty_header_column_that_holds_values_is_still_read_as_before(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_text("id,landmark_id,\nabc1,1,note\nabc2,2,\n")
    assert read_train_csv(csv)[0]["id"].tolist() == ["abc1", "abc2"]


def test_a_quote_never_closed_is_named_on_the_line_that_opens_it(tmp_path):
    # It said "line 4 has fewer fields than the header" for the last line the quote swallowed, not why.
    csv = tmp_path / "train.csv"
    csv.write_text('id,url,landmark_id\nabc1,http://x,1\nabc2,"http://y,2\nabc3,http://z,3\nabc4,http://w,4\n')
    with pytest.raises(DatasetError, match=re.escape('(line 3 has fewer fields than the header: abc2,http://y,2 '
                                                     'abc3,http://z,3 abc4,http://w,4; a quote (") opened on it runs on '
                                                     "to line 5: close it where its cell ends, or delete it); fix or "
                                                     "delete that line")):
        read_train_csv(csv)
    csv.write_text('id,url,landmark_id\nabc1,http://x,1\nabc2,"http://y,2\n')
    with pytest.raises(DatasetError, match=re.escape("runs on to the end of the file")):
        read_train_csv(csv)


def test_labels_mostly_plain_are_read_as_the_row_by_row_pass_reads_every_one():
    # Plain numbers are cast at once and only the others go row by row (one `12.5` among 4.1M rows: 2.5 s -> 0.8 s).
    from glr.data.train_csv import TEXT, _parse_labels_slowly, parse_labels

    values = ["12", "007", "-3", "12.0", "12,5", " 12 ", "+5", "'9", "abc", "", None, "9223372036854775807",
              "9223372036854775808", "0x1f", "1e3", "123456789012345678", "1234567890123456789"]
    text = pd.Series(values * 3, dtype=TEXT, index=[2 * i for i in range(len(values) * 3)][::-1])
    assert parse_labels(text).equals(_parse_labels_slowly(text))
    assert parse_labels(text).tolist()[:11] == [12, 7, -3, 12, pd.NA, 12, 5, 9, pd.NA, pd.NA, pd.NA]


def test_a_word_among_the_labels_that_is_no_repeated_header_costs_no_copy():
    # `abc` in one label of 4.1M sent the whole frame through drop(index=[]): a copy, 0.7-1.2 s (0.04 s now).
    from glr.data.train_csv import TEXT, drop_repeated_headers

    df = pd.DataFrame({"id": pd.Series(["a1", "a2"], dtype=TEXT), "landmark_id": pd.Series(["7", "abc"], dtype=TEXT)})
    assert drop_repeated_headers(df) is df
    df.loc[2] = ["id", "landmark_id"]
    assert drop_repeated_headers(df)["id"].tolist() == ["a1", "a2"]


def test_a_url_holding_an_unquoted_comma_is_one_cell_again(tmp_path):
    # Wikimedia names photos `Paris,_France.jpg`: a url written unquoted split its row, and the whole file was
    # refused ("line 3 has a value past the header's columns"). A value too many is still said so.
    from glr.data.train_csv import arrow_columns

    csv = tmp_path / "train.csv"
    csv.write_text("id,url,landmark_id\nabc1,https://x.org/a.jpg,7\nabc2,https://x.org/Paris,_Tour,_Eiffel.JPG,8\n")
    assert _rows(read_train_csv(csv)[0]) == [("abc1", "7"), ("abc2", "8")]
    urls = arrow_columns(csv, ["id", "url", "landmark_id"], ["id", "url"])["url"].to_pylist()
    assert urls == ["https://x.org/a.jpg", "https://x.org/Paris,_Tour,_Eiffel.JPG"]
    csv.write_text("id,url,landmark_id\nabc1,https://x.org/a.jpg,7\nabc2,https://x.org/b.jpg,8,9\n")
    with pytest.raises(DatasetError, match=r"line 3 has a value past the header's columns"):
        read_train_csv(csv)


def test_labels_typed_in_full_width_or_arabic_indic_digits_are_their_numbers():
    # A Japanese input method types `１２`; they were "not an integer", the photos skipped.
    labels = parse_labels(pd.Series(["7", "１２", "١٢", "-３", "²", "x"], dtype="string"))
    assert labels.tolist() == [7, 12, 12, -3, pd.NA, pd.NA]


def test_a_quote_never_closed_far_above_the_end_names_its_line(tmp_path):
    # Past 131,072 characters Python's csv gave up first: "cannot be parsed as CSV (field larger than field limit
    # (131072))", with no line; a short file named it already.
    rows = [f"{i:016x},https://x.org/{i}.jpg,{i % 7}" for i in range(5000)]
    rows[5] = f'{5:016x},"https://x.org/5.jpg,3'
    csv = tmp_path / "train.csv"
    csv.write_text("id,url,landmark_id\n" + "\n".join(rows) + "\n")
    with pytest.raises(DatasetError, match=r"train.csv: cannot be parsed as CSV \(a quote \(\"\) opened on line 7 runs on "
                                           r"over 131,072 characters.*: close it where its cell ends, or delete it$"):
        read_train_csv(csv)


@pytest.fixture
def no_python_csv(monkeypatch):
    """The line finder must name a bad row from Arrow's pass and the bytes: reading the file as Python csv fails."""
    import glr.data.train_csv as train_csv

    monkeypatch.setattr(train_csv, "_evened", lambda *a, **k: pytest.fail("read as Python csv"))


def test_a_row_of_another_width_is_named_without_reading_the_file_as_python_csv(tmp_path, no_python_csv):
    # `_evened` (Python's csv over every row) took 25-30 s to name a line near the end of a 4.1M-row file; Arrow's
    # own pass and the row's place in the bytes name it in 5 s.
    csv = tmp_path / "train.csv"
    csv.write_text('"id","url","landmark_id"\n\n"abc1","u",7\n"abc2","u",8,x\n"abc2","u",8\n"abc3","u"\n')
    with pytest.raises(DatasetError, match=r"\(line 4 has a value past the header's columns: abc2,u,8,x\)"):
        read_train_csv(csv)
    csv.write_text('id,url,landmark_id\nabc1,u,7\nabc1,u\n')  # the row's text is no whole line above it
    with pytest.raises(DatasetError, match=r"\(line 3 has fewer fields than the header: abc1,u\)"):
        read_train_csv(csv)
    csv.write_text('"id","url","landmark_id"\n\n"abc1","u",7\n"abc2","u",8,x\n"abc2","u",8\n"abc3","u"\n')
    with pytest.raises(DatasetError, match=r"train.csv: cannot be parsed as CSV \(line 4 has a value past the header's "
                                           r"columns: abc2,u,8,x\); fix or delete that line$"):
        read_train_csv(csv)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_a_row_of_another_width_that_is_not_utf8_is_refused_without_noise_on_stderr(tmp_path):
    # Arrow could not decode the row for the line finder's handler: "Exception ignored in: <function
    # _first_bad_row...> UnicodeDecodeError" was printed on stderr for each such file (42 times in one test run).
    csv = tmp_path / "train.csv"
    csv.write_bytes(b"id,landmark_id\na,1\nb\xaf,2,3\n")
    with pytest.raises(DatasetError, match="cannot be parsed as CSV"):
        read_train_csv(csv)


def test_a_bad_row_whose_text_is_also_a_line_inside_a_quoted_cell_above_is_named_on_its_own_line(tmp_path, no_python_csv):
    # The line finder took the first whole line with the row's text: one inside a quoted cell that spans lines (its
    # two quotes on the lines around it) was named, two lines above the row Arrow refused.
    csv = tmp_path / "train.csv"
    csv.write_text('id,url,landmark_id\nabc1,"see\nabc2,u,2,9\nbelow",1\nabc2,u,2,9\nabc3,u,3\n')
    with pytest.raises(DatasetError, match=r"\(line 5 has a value past the header's columns: abc2,u,2,9\)"):
        read_train_csv(csv)


def test_the_last_of_two_columns_takes_the_rest_of_a_row_only_when_asked_unquoted_and_not_on_most_rows(tmp_path):
    # A category holding the separator unquoted (`Paris,_France`) is one name; a quoted cell with a field more is
    # unsure, and a file where most rows hold a field more has a column its header lacks: those stay bad rows.
    from glr.data.train_csv import arrow_columns

    csv = tmp_path / "train_label_to_category.csv"
    csv.write_text('landmark_id,category\n7,Eiffel\n219,Paris,_France\n12,Big Ben,\n30,"Big Ben",London\n')
    names, bad = ["landmark_id", "category"], []
    table = arrow_columns(csv, names, names, bad_rows=bad, rest_in_last=True)
    assert table.to_pydict() == {"landmark_id": ["7", "219", "12"], "category": ["Eiffel", "Paris,_France", "Big Ben"]}
    assert bad == ["30,Big Ben,London"]
    bad.clear()
    assert arrow_columns(csv, names, names, bad_rows=bad)["category"].to_pylist() == ["Eiffel", "Big Ben"]
    assert bad == ["219,Paris,_France", "30,Big Ben,London"]  # not asked: as before
    csv.write_text("landmark_id,category\n" + "".join(f"{i},Name {i},x\n" for i in range(4)) + "12,Big Ben\n")
    bad.clear()
    assert arrow_columns(csv, names, names, bad_rows=bad, rest_in_last=True)["category"].to_pylist() == ["Big Ben"]
    assert bad == [f"{i},Name {i},x" for i in range(4)]


def test_a_bad_row_below_a_cell_holding_a_line_break_in_a_mac_file_is_named_on_its_line(tmp_path, no_python_csv):
    # Excel for Mac ends its rows with CR and a line break inside a cell with LF: the line finder counted the LFs
    # only, and named line 2 for a row on line 5.
    csv = tmp_path / "train.csv"
    csv.write_bytes(b'id,url,landmark_id\rabc1,"two\nlines",1\rabc2,u,2\rabc3,u,3,9\r')
    with pytest.raises(DatasetError, match=r"\(line 5 has a value past the header's columns: abc3,u,3,9\)"):
        read_train_csv(csv)
    csv.write_bytes(b'id,url,landmark_id\r\nabc1,"two\nlines",1\r\nabc2,u,2\r\nabc3,u,3,9\r\n')  # Windows: as before
    with pytest.raises(DatasetError, match=r"\(line 5 has a value past the header's columns: abc3,u,3,9\)"):
        read_train_csv(csv)


def test_a_line_over_a_megabyte_is_named_not_said_in_pyarrows_words(tmp_path):
    # Was "cannot be parsed as CSV (straddling object straddles two block boundaries (try to increase block size?))".
    csv = tmp_path / "train.csv"
    csv.write_text("id,landmark_id\nabc1,7\nabc2," + "x" * 3_000_000 + "\nabc3,9\n")
    with pytest.raises(DatasetError, match=re.escape("cannot be parsed as CSV (line 3 is over 1 MB long, which no "
                                                     "catalog's row is")):
        read_train_csv(csv)


def test_a_category_row_of_another_width_not_in_utf8_is_said_so_without_a_traceback(tmp_path, capfd):
    # A row of the wrong width, not UTF-8: Arrow failed to decode it for the row handler, printed "Exception
    # ignored ... UnicodeDecodeError" on stderr and refused the whole file as "cannot be parsed", every name lost.
    from conftest import make_gldv2
    from glr.data.datasets import load_catalog

    root = make_gldv2(tmp_path / "gld", {7: 3, 12: 3})
    text = "landmark_id,category\n7,Sagrada_Fam\u00edlia\n12,K\u00f6lner Dom, K\u00f6ln\n"  # a comma unquoted
    (root / "train_label_to_category.csv").write_bytes(text.encode("cp1252"))
    catalog = load_catalog(root)
    assert catalog.names() == {7: "Sagrada Fam\u00edlia", 12: "K\u00f6lner Dom, K\u00f6ln"}
    assert catalog.problems[0] == "train_label_to_category.csv: read as Windows-1252 text (not UTF-8)"
    assert "Traceback" not in capfd.readouterr().err
    # No code page's words: "is not UTF-8", with its line; was "cannot be parsed as CSV" after the traceback.
    (root / "train_label_to_category.csv").write_bytes(b"landmark_id,category\n7,Big Ben\nCaf\xe9 \xa4\n")
    catalog = load_catalog(root)
    assert catalog.problems[0].startswith("train_label_to_category.csv: is not UTF-8 text; save it as UTF-8 CSV")
    assert "Traceback" not in capfd.readouterr().err
