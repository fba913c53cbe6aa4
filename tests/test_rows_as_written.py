"""glr.data.rows_as_written: a row Python's csv wrote again is shown as the file writes it."""

from glr.data.rows_as_written import as_written


def test_rows_are_found_as_the_file_writes_them_quotes_and_line_ends_too(tmp_path):
    path = tmp_path / "names.csv"
    path.write_bytes(b'landmark_id;category\r\n7;"Big; Ben";London\r\n8;x\r\n9;"a\nb";c;d\r\n30;"Big Ben";London\r\n')
    # As Python's csv writes them again: quotes only where a cell needs them.
    assert as_written(path, ["30;Big Ben;London", '7;"Big; Ben";London', '9;"a\nb";c;d', "1;not;there"], ";") == [
        '30;"Big Ben";London', '7;"Big; Ben";London', '9;"a\nb";c;d', "1;not;there"]
    assert as_written(tmp_path / "gone.csv", ["30,Big Ben,London"], ",") == ["30,Big Ben,London"]
