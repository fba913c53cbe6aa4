"""glr.data.photo_files: a GLDv2 catalog's photos found on disk, ids a spreadsheet cut short among them."""

from pathlib import Path

from conftest import write_image
from glr.data import fetch
from glr.data.datasets import load_catalog

IDS = ["0012345678901234", "0a1b2c3d4e5f6a7b", "1b2c3d4e5f6a7b8c", "2c3d4e5f6a7b8c9d"]


def _gldv2(root: Path, rows: str) -> Path:
    """GLDv2's layout with the photos of IDS, and a train.csv of `rows` (id,url,landmark_id)."""
    for i, iid in enumerate(IDS):
        write_image(root / "train" / iid[0] / iid[1] / iid[2] / f"{iid}.jpg", seed=i)
    (root / "train.csv").write_text("id,url,landmark_id\n" + rows)
    return root


def test_fetch_finds_the_photo_of_an_id_that_lost_its_leading_zeros_and_gets_nothing_again(tmp_path):
    # The catalog found the photo (its path padded), but kept the id "12345678901234": fetch looked for
    # train/1/2/3/12345678901234.jpg and would download again, under that name, a photo that was on disk.
    root = _gldv2(tmp_path, "12345678901234,http://x/a.jpg,1\n0a1b2c3d4e5f6a7b,http://x/b.jpg,1\n"
                            "1b2c3d4e5f6a7b8c,http://x/c.jpg,2\n2c3d4e5f6a7b8c9d,http://x/d.jpg,2\n")
    notes: list[str] = []
    root, ids = fetch.curated_ids(root, top_n=10, min_images=2, val_fraction=0.5, seed=0, notes=notes)
    assert sorted(ids) == sorted(IDS) and fetch.missing_ids(root, ids) == ([], 4)
    assert notes == ["1 id in train.csv lost its leading zeros (e.g. '12345678901234'; saved from a spreadsheet?): "
                     "read as GLDv2's 16-digit id (e.g. '0012345678901234'), as its photo is on disk"]


def test_an_id_listed_both_with_and_without_its_zeros_is_one_photo(tmp_path):
    # Two rows, one photo: it was trained (and validated) twice, as two photos.
    root = _gldv2(tmp_path, "0012345678901234,,1\n12345678901234,,1\n0a1b2c3d4e5f6a7b,,1\n"
                            "1b2c3d4e5f6a7b8c,,2\n2c3d4e5f6a7b8c9d,,2\n")
    catalog = load_catalog(root)
    assert sorted(catalog.df["id"]) == sorted(IDS) and catalog.df["path"].is_unique
    assert catalog.problems == [
        "1 id in train.csv lost its leading zeros (e.g. '12345678901234'; saved from a spreadsheet?): read as GLDv2's "
        "16-digit id (e.g. '0012345678901234'), as its photo is on disk; 1 of them listed with its zeros too, so the "
        "repeat is skipped"]


def test_ids_of_a_few_digits_in_a_dataset_numbered_so_are_left_as_they_are(tmp_path):
    for i, iid in enumerate(("101", "102", "201", "202")):
        write_image(tmp_path / "train" / iid[0] / iid[1] / iid[2] / f"{iid}.jpg", seed=i)
    (tmp_path / "train.csv").write_text("id,landmark_id\n101,1\n102,1\n201,2\n202,2\n999,2\n")
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.df["id"]) == ["101", "102", "201", "202"]
    assert catalog.problems == ["1 image file listed in train.csv not found (e.g. 'train/9/9/9/999.jpg'); skipped"]
