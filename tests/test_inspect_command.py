"""`python -m glr inspect`'s table of classes (glr.inspect_command)."""

import pandas as pd

from conftest import image_id, write_image
from glr.cli import main
from glr.inspect_command import class_table
from glr.paths import text_columns


def gldv2_with_labels(root, labels):
    """A GLDv2 folder of three photos per landmark_id, the ids written as given (text)."""
    rows = ["id,landmark_id"]
    for k, label in enumerate(labels):
        for i in range(3):
            iid = image_id(k, i)
            write_image(root / "train" / iid[0] / iid[1] / iid[2] / f"{iid}.jpg", seed=100 * k + i, colour_seed=k)
            rows.append(f"{iid},{label}")
    (root / "train.csv").write_text("\n".join(rows) + "\n")
    return root


def test_a_table_of_nineteen_digit_landmark_ids_stays_in_line(tmp_path, capsys):
    # The id column was 8 wide: a 17- or 19-digit landmark_id pushed its name and count out of line.
    labels = ["7", "12345678901234567", "1234567890123456789"]
    assert main(["inspect", str(gldv2_with_labels(tmp_path, labels))]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "landmark " in line and line.endswith("3")]
    assert len(rows) == 3
    assert len({text_columns(r) for r in rows}) == 1  # the counts end in one column
    assert len({r.index("landmark ") for r in rows}) == 1  # the names start in one column
    assert rows[0].startswith("                    7  landmark 7 ")


def test_short_ids_and_counts_keep_their_usual_widths():
    labels = pd.DataFrame({"landmark_id": [144408, 3], "name": ["Great Pyramid", "Tower"], "images": [60, 12345]})
    assert class_table(labels) == ["    144408  Great Pyramid      60", "         3  Tower          12,345"]
