"""A CSV's bytes as the train.csv reader takes them: UTF-16/32 and a DOS Ctrl-Z end through one UTF-8 copy."""

import codecs

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
