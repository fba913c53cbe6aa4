"""A CSV's bytes as the train.csv reader takes them: UTF-16/32 and a DOS Ctrl-Z end through one UTF-8 copy."""

import codecs
import re

import pytest

from glr.data import csv_source
from glr.data.csv_source import utf8_source, wide_encoding
from glr.errors import DatasetError

TEXT = "id,landmark_id\r\nabc1,7\r\n"


@pytest.mark.parametrize("data, codec", [
    (TEXT.encode("utf-16"), "utf-16"),
    (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
    (TEXT.encode("utf-32"), "utf-32"),  # its mark starts as UTF-16 LE's: looked at first
    (TEXT.encode("utf-16-le"), "utf-16-le"),
    (TEXT.encode("utf-16-be"), "utf-16-be"),
    (TEXT.encode(), None),
    ("id,name\n1,Kölner Dom 東京タワー\n".encode(), None),  # UTF-8 beyond ASCII has no NUL bytes
    (b"id,landmark_id\nabc1,7\n" + b"\x00" * 64, None),  # zeros at its end, in both halves: a file cut short
    (b"\x00" * 512, None),
])
def test_wide_text_is_told_by_its_mark_or_by_asciis_zero_bytes(data, codec):
    assert wide_encoding(data) == codec


def test_the_utf8_copy_is_made_once_per_version_of_the_file_and_the_oldest_go(tmp_path, monkeypatch):
    plain = tmp_path / "plain.csv"
    plain.write_bytes(TEXT.encode())
    assert utf8_source(plain) == plain  # UTF-8 is read where it is: no copy
    wide = tmp_path / "wide.csv"
    wide.write_bytes(TEXT.encode("utf-16"))
    copy = utf8_source(wide)
    assert copy != wide and copy.read_bytes() == TEXT.encode() and utf8_source(wide) == copy
    wide.write_bytes(("\ufeff" + TEXT + "abc2,8\r\n").encode("utf-16-le"))  # saved again: a new copy
    assert (again := utf8_source(wide)) != copy and again.read_bytes().decode("utf-8") == TEXT + "abc2,8\r\n"
    monkeypatch.setattr(csv_source, "_COPIES", 2)
    others = [tmp_path / f"{i}.csv" for i in range(2)]
    for path in others:
        path.write_bytes(TEXT.encode("utf-16"))
        utf8_source(path)
    assert not again.exists() and len(csv_source._copies) == 2  # at most _COPIES kept: each may be GLDv2's size


def test_a_byte_order_mark_before_no_such_text_says_so(tmp_path):
    # Was "missing column ... found '潮⁴整瑸'": the bytes after the mark read as CJK.
    csv = tmp_path / "train.csv"
    csv.write_bytes(b"\xff\xfe\x00 not text")
    with pytest.raises(DatasetError, match="starts with a UTF-16 byte-order mark, but what follows is not such text"):
        utf8_source(csv)


def test_a_file_ending_in_ctrl_z_is_read_without_it_and_one_not_utf8_is_named(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_bytes(TEXT.encode() + b"\x1a")
    assert utf8_source(csv).read_bytes() == TEXT.encode()
    csv.write_bytes("id,name\r\n1,Köln\r\n".encode("cp1252") + b"\x1a")
    with pytest.raises(DatasetError, match=r"is not UTF-8 text \(its words read as Windows-1252\); save it as UTF-8 CSV"):
        utf8_source(csv)


@pytest.mark.parametrize("data, found", [
    ("id,name\n1,Sagrada Fam\u00edlia\n".encode("cp1252"), True), ("id,name\n1,Sagrada Fam\u00edlia\n".encode(), False),
    ("id,name\n1,Sagrada Fam\u00edlia\n".encode("utf-16"), False), (b"id,name\n1,plain\n", False),
    (b"id,name\n1,\xbd price\n", False), (b"", False),
])
def test_windows_1252_is_read_only_on_the_evidence_of_its_letters(tmp_path, data, found):
    csv = tmp_path / "x.csv"
    csv.write_bytes(data)
    assert csv_source.read_as_windows_1252(csv) is found
    if found:  # every reader then opens its UTF-8 copy
        assert utf8_source(csv).read_text(encoding="utf-8") == "id,name\n1,Sagrada Fam\u00edlia\n"


def _zip(path, members):
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("members, said", [
    ({"[Content_Types].xml": "x", "xl/workbook.xml": "x"},
     'is an Excel workbook (.xlsx), not a CSV file; save it as "CSV UTF-8 (comma delimited)"'),
    ({"Index/Document.iwa": "x", "Metadata/Properties.plist": "x"},
     "is an Apple Numbers spreadsheet (.numbers), not a CSV file; export it as CSV (Numbers: File > Export To > CSV"),
    ({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "x"},
     'is an OpenDocument spreadsheet (.ods, LibreOffice or OpenOffice Calc), not a CSV file; save it as "Text CSV'),
    ({"Sheet1.html": "<table></table>", "resources/sheet.css": "x"},
     'is a zip of web pages (a spreadsheet downloaded as "Web page", as Google Sheets zips it), not a CSV file; '
     'download it as "Comma-separated values (.csv)"'),
    ({"train.csv": "id,landmark_id\nabc1,7\n"},
     "is a zip archive holding 'train.csv', not a CSV file; unpack it, and name what it gives train.csv"),
])
def test_a_zip_under_a_csv_name_is_named_by_what_it_holds(tmp_path, members, said):
    # Every zip was "an Excel workbook (.xlsx)": a .numbers, an .ods, a Sheets "Web page" download, a zipped CSV.
    from glr.data.train_csv import read_train_csv

    csv = _zip(tmp_path / "train.csv", members)
    with pytest.raises(DatasetError, match=re.escape(f"{csv}: {said}")):
        read_train_csv(csv)


@pytest.mark.parametrize("text", [
    '<meta http-equiv="content-type" content="text/html; charset=utf-8"><style type="text/css">.ritz .waffle a {}'
    '</style><div class="ritz grid-container" dir="ltr"><table class="waffle"><tr><td>id</td><td>landmark_id</td></tr>',
    '<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta name=ProgId content=Excel.Sheet></head>',
    "<!DOCTYPE html><html><body><table><tr><td>id</td></tr></table></body></html>",
])
def test_a_spreadsheet_saved_as_a_web_page_is_named(tmp_path, text):
    # Google Sheets' "Web page" (its HTML starts `<meta`) was "missing column 'id' and 'landmark_id'; found '<meta ...";
    # a page holding a table was "a download that failed, or asked for a login?".
    from glr.data.train_csv import read_train_csv

    csv = tmp_path / "train.csv"
    csv.write_text(text)
    with pytest.raises(DatasetError, match=re.escape("is a web page holding a table (a spreadsheet saved or downloaded "
                                                     'as a web page), not a CSV file; download or save it as "Comma')):
        read_train_csv(csv)


def test_a_utf8_file_with_a_bom_and_a_legacy_byte_names_the_line(tmp_path):
    # Excel's "CSV UTF-8" with a row pasted from a Windows-1252 file: was read as Windows-1250 ("missing column 'id';
    # found 'ď»żid'": the byte-order mark read as a word).
    from glr.data.train_csv import read_train_csv

    csv = tmp_path / "train.csv"
    csv.write_bytes(b"\xef\xbb\xbfid,landmark_id\nabc1,7\n\nM\xc3\xbcnchen,8\ncaf\xe9,9\n")
    with pytest.raises(DatasetError, match=re.escape(
            f"{csv}: starts as UTF-8 text (its byte-order mark) but line 5 holds a byte that is not UTF-8 (caf\\xe9,9: "
            "a row pasted from a file in another code page, or damage?); fix that line, or save the file as UTF-8")):
        read_train_csv(csv)


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_the_first_byte_that_is_not_utf8_is_found_across_chunks_and_named_by_its_line(end):
    data = end.join(["id,landmark_id", "abc1,7", "caf\u00e9,8", "x" * 50 + "y\xe9z,9", "abc4,1"]).encode("utf-8")
    data = data.replace(b"y\xc3\xa9z", b"y\xe9z")
    for chunk in (3, 7, 1 << 24):  # chunks that end inside `é`: never a false find
        assert csv_source.first_bad_byte(data, chunk=chunk) == (4, "x" * 50 + "y\\xe9z,9"), chunk
    assert csv_source.first_bad_byte(b"id\nabc\n") is None


def test_a_utf8_file_with_one_bad_byte_far_down_names_its_line(tmp_path):
    # A UTF-8 file (`München`) with one Windows-1252 byte on its 20,001st line: was "is not UTF-8 text; save it as
    # UTF-8 CSV", with nothing to say where.
    from glr.data.train_csv import read_train_csv

    csv = tmp_path / "train.csv"
    csv.write_bytes("id,landmark_id\nM\u00fcnchen,1\n".encode() + b"abc,2\n" * 19_998 + b"caf\xe9,3\n")
    with pytest.raises(DatasetError, match=re.escape(
            "is not UTF-8 text; save it as UTF-8 CSV (its first byte that is not UTF-8 is on line 20001: caf\\xe9,3)")):
        read_train_csv(csv)


def test_a_git_lfs_pointer_under_the_csvs_name_is_named(tmp_path):
    # A clone without `git lfs pull`: was "missing column 'id' and 'landmark_id'; found 'version https://git-lfs...'".
    from glr.data.train_csv import read_train_csv

    csv = tmp_path / "train.csv"
    csv.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146\nsize 528793\n")
    with pytest.raises(DatasetError, match=r"train.csv: is a Git LFS pointer to the CSV file \(528,793 bytes\), not the "
                                           r"file: the repository was cloned without its LFS files; run `git lfs pull`"):
        read_train_csv(csv)
