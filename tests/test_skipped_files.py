"""glr.data.skipped_files: files in class folders that glr does not read, named by what they are."""

from pathlib import Path

from glr.data.layouts import examples
from glr.data.skipped_files import skipped_notes
from glr.paths import printable


def notes(root: Path, names: list[str]) -> list[str]:
    return skipped_notes([root / n for n in names], root, examples, printable)


def test_each_kind_is_named_once_with_a_count_and_the_rest_are_not_images(tmp_path):
    got = notes(tmp_path, ["Tower/a.NEF", "Tower/b.cr3", "Gate/c.dng", "Tower/a.NEF.xmp", "Tower/IMG_1.AAE",
                           "Gate/plan.svg", "Gate/edit.psd", "Gate/notes.txt"])
    assert got == [
        "3 camera raw photos in class folders (e.g. 'Tower/a.NEF', 'Tower/b.cr3', 'Gate/c.dng'): a format glr cannot "
        "read; skipped: export them as JPEG first (glr reads JPEG, PNG, WebP, HEIC, AVIF, GIF, BMP, TIFF or ICO)",
        "1 Photoshop document in class folders (e.g. 'Gate/edit.psd'): a format glr cannot read; skipped: export it "
        "as JPEG first (glr reads JPEG, PNG, WebP, HEIC, AVIF, GIF, BMP, TIFF or ICO)",
        "1 SVG drawing in class folders (e.g. 'Gate/plan.svg'): a drawing, not a photo; skipped",
        "2 sidecar files in class folders (e.g. 'Tower/a.NEF.xmp', 'Tower/IMG_1.AAE'): a photo app's edits and "
        "metadata, written beside its photos (the photos are read); passed over",
        "1 file in class folders is not an image (e.g. 'Gate/notes.txt'); skipped"]


def test_thousands_of_sidecars_are_one_note(tmp_path):
    got = notes(tmp_path, [f"Tower/IMG_{i}.xmp" for i in range(2500)])
    assert len(got) == 1 and got[0].startswith("2,500 sidecar files in class folders (e.g. 'Tower/IMG_0.xmp', ")


def test_nothing_skipped_says_nothing(tmp_path):
    assert notes(tmp_path, []) == []


def test_a_live_photos_video_beside_its_photo_is_said_as_a_video(tmp_path):
    assert notes(tmp_path, ["Tower/IMG_1.MOV", "Tower/IMG_2.mov"]) == [
        "2 videos in class folders (e.g. 'Tower/IMG_1.MOV', 'Tower/IMG_2.mov'): not photos (a Live Photo is exported "
        "as a photo and its video: the photo is read); skipped"]


def test_one_file_is_said_by_its_kind_and_a_file_of_no_kind_is_not():
    from glr.data.skipped_files import one_reason

    assert one_reason("trip/IMG_1.AAE") == ("a sidecar file: a photo app's edits and metadata, written beside its photos "
                                            "(the photos are read); passed over")
    assert one_reason("plan.svg").startswith("an SVG drawing: a drawing, not a photo")
    assert one_reason(Path("DSC_1.NEF")).startswith("a camera raw photo: a format glr cannot read; skipped: export it as JPEG")
    assert one_reason("notes.txt") is None and one_reason("README") is None


def test_kind_notes_say_where_and_give_back_the_files_of_no_kind():
    from glr.data.skipped_files import kind_notes

    notes, rest = kind_notes(["a.mov", "notes.txt", "b.MP4", "README"], examples)
    assert notes == ["2 videos (e.g. 'a.mov', 'b.MP4'): not photos (a Live Photo is exported as a photo and its video: "
                     "the photo is read); skipped"] and rest == ["notes.txt", "README"]
    assert kind_notes(["a.psd"], examples, where=" in album.zip")[0][0].startswith("1 Photoshop document in album.zip (e.g.")
