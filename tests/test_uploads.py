"""glr.data.uploads: photos and zips dropped on the Predict page, read in memory with limits; zip slip refused."""

import io

import numpy as np
import pytest

from glr.data import uploads
from conftest import zip_of


def _jpeg(seed: int = 0, size: int = 40) -> bytes:
    from PIL import Image

    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("name, safe", [
    ("a.jpg", "a.jpg"), ("dir/./b.jpg", "dir/b.jpg"), ("dir\\c.jpg", "dir/c.jpg"),
    ("../evil.jpg", None), ("a/../../evil.jpg", None), ("/etc/passwd", None), ("C:/x.jpg", None), ("", None),
])
def test_safe_member_name(name, safe):
    assert uploads.safe_member_name(name) == safe


def test_read_zip_images_skips_what_it_must():
    data = zip_of({
        "photos/b.jpg": _jpeg(1), "photos/a.PNG": b"png-bytes", "../../escape.jpg": _jpeg(2),
        "notes.txt": b"hello", "__MACOSX/photos/._b.jpg": b"junk", "photos/.hidden.jpg": b"x",
        "photos/Thumbs.db": b"windows", "photos/desktop.ini": b"[x]",
    })
    images, problems = uploads.read_zip_images(data, "set.zip")
    assert [n for n, _ in images] == ["photos/a.PNG", "photos/b.jpg"]
    assert any("unsafe" in p and "escape" in p for p in problems)
    assert "set.zip: 1 file that is not an image skipped (e.g. 'notes.txt')" in problems
    assert not any("Thumbs.db" in p or "desktop.ini" in p for p in problems)  # the OS's files, passed over


def test_read_zip_images_limits_and_bad_zips():
    data = zip_of({f"{i}.jpg": b"x" * 100 for i in range(5)})
    images, problems = uploads.read_zip_images(data, max_files=2)
    assert len(images) == 2 and "3 more skipped" in problems[0]
    images, problems = uploads.read_zip_images(data, max_bytes=250)
    assert len(images) == 2 and "skipped past" in problems[0]
    assert uploads.read_zip_images(b"not a zip", "x.zip") == ([], ["x.zip: not a valid zip archive"])
    assert uploads.read_zip_images(zip_of({"a.txt": b"x"}))[0] == []
    images, problems = uploads.read_zip_images(zip_of({}), "empty.zip")
    assert images == [] and "holds no images" in problems[0]


def test_expand_uploads_and_ids():
    photos, problems, from_zip = uploads.expand_uploads([("one.jpg", b"1"), ("set.zip", zip_of({"x/two.jpg": b"2"}))])
    assert photos == [("one.jpg", b"1"), ("set.zip/x/two.jpg", b"2")] and problems == [] and from_zip
    assert uploads.expand_uploads([("one.jpg", b"1")])[2] is False
    assert uploads.photo_id("set.zip/x/0a1b2c.jpg") == "0a1b2c"
    assert uploads.named_upload("n.jpg", b"abc").name == "n.jpg"


def test_expand_uploads_skips_a_file_over_the_limit():
    big, small = b"x" * (2 * uploads.MB + 1), b"y" * 10
    photos, problems, _ = uploads.expand_uploads([("huge.jpg", big), ("ok.jpg", small)], max_file_bytes=2 * uploads.MB)
    assert photos == [("ok.jpg", small)]
    assert problems == ["huge.jpg: 2.0 MB is over the 2 MB upload limit; "
                        "for big batches use the command line: python -m glr predict RUN FOLDER"]


def test_unique_photos_keeps_the_first_name_of_each_content():
    photos = [("a.jpg", b"1"), ("b.jpg", b"2"), ("a copy.jpg", b"1"), ("set.zip/a.jpg", b"1"), ("c.jpg", b"3")]
    unique, repeats = uploads.unique_photos(photos)
    assert unique == [("a.jpg", b"1"), ("b.jpg", b"2"), ("c.jpg", b"3")]
    assert repeats == [("a copy.jpg", "a.jpg"), ("set.zip/a.jpg", "a.jpg")]
    assert uploads.unique_photos([]) == ([], [])
    assert uploads.content_digest(b"1") == uploads.content_digest(bytes(b"1")) != uploads.content_digest(b"2")


def test_read_zip_images_passes_over_nas_thumbnail_folders():
    # A zip of a folder on a Synology NAS holds @eaDir/ thumbnails beside every photo.
    data = zip_of({"tower/a.jpg": _jpeg(1), "tower/@eaDir/a.jpg/SYNOPHOTO_THUMB_M.jpg": _jpeg(2),
                   "@eaDir/tower/SYNOPHOTO_THUMB_S.jpg": _jpeg(3)})
    images, problems = uploads.read_zip_images(data, "set.zip")
    assert [n for n, _ in images] == ["tower/a.jpg"] and problems == []


def test_empty_files_are_never_repeats_of_each_other():
    unique, repeats = uploads.unique_photos([("a.jpg", b""), ("b.jpg", b""), ("c.jpg", b"1")])
    assert unique == [("a.jpg", b""), ("b.jpg", b""), ("c.jpg", b"1")] and repeats == []


def test_a_zip_inside_a_zip_is_named_not_opened_and_not_called_a_non_image():
    inner = zip_of({"deep.jpg": _jpeg(1)})
    images, problems = uploads.read_zip_images(zip_of({"a.jpg": _jpeg(0), "more/inner.zip": inner}), "outer.zip")
    assert [n for n, _ in images] == ["a.jpg"]
    assert problems == ["outer.zip: 1 zip inside it not opened (e.g. 'more/inner.zip'); drop the photos in it, or "
                        "that zip itself"]


def test_submission_ids_of_different_photos_with_the_same_name_are_different():
    ids, repeats = uploads.submission_ids(["a.jpg", "album.zip/x/a.jpg", "album.zip/y/a.jpg", "a.png", "b.jpg"],
                                          [("b.jpg", "b.jpg"), ("copy of b.jpg", "b.jpg"), ("a.png", "a.jpg")])
    assert ids == ["a", "a.jpg", "album.zip/y/a.jpg", "a.png", "b"]
    assert len(set(ids)) == len(ids)  # was "a" four times: one id, four rows, in a Kaggle submission
    # a repeat under its first's name is that row; under another name a row of its own (its first's prediction)
    assert repeats[0] == ("b", "b") and repeats[1] == ("copy of b", "b")
    assert repeats[2][0] not in ids and repeats[2][1] == "a"


class _Counting(io.BytesIO):
    """A zip file that counts the bytes read from it."""

    taken = 0

    def read(self, size=-1):
        data = super().read(size)
        self.taken += len(data)
        return data


def test_a_zip_on_disk_is_read_a_photo_at_a_time_not_whole(tmp_path):
    # The CLI read a zip whole into memory (and refused one over 1 GB): a phone's export of videos and a few photos.
    video = np.random.default_rng(0).bytes(3_000_000)  # random: deflate cannot shrink it, so it stays 3 MB in the zip
    data = zip_of({"clip.mp4": video, "a.jpg": _jpeg(1)})
    counting = _Counting(data)
    images, problems = uploads.read_zip_images(counting, "album.zip")
    assert [n for n, _ in images] == ["a.jpg"] and problems == [
        "album.zip: 1 video (e.g. 'clip.mp4'): not a photo (a Live Photo is exported as a photo and its video: the photo is "
        "read); skipped"]
    assert counting.taken < 100_000  # the directory and the photo, not the video
    (tmp_path / "album.zip").write_bytes(data)
    assert uploads.read_zip_images(tmp_path / "album.zip", "album.zip") == (images, problems)  # a path too
    with pytest.raises(FileNotFoundError):  # the caller names it with its strerror, not "not a valid zip"
        uploads.read_zip_images(tmp_path / "missing.zip", "missing.zip")
    (tmp_path / "tiny.zip").write_bytes(b"PK")
    assert uploads.read_zip_images(tmp_path / "tiny.zip", "tiny.zip") == ([], ["tiny.zip: not a valid zip archive"])


def test_zip_photos_are_inflated_only_when_read_and_not_kept(tmp_path, monkeypatch):
    # `glr predict album.zip` read every photo of the zip into memory before predicting the first (475 MB peak RSS for
    # a 285 MB zip, 227 MB now): each is a ZipPhoto now, inflated when the predictor reads it and then let go.
    import zipfile

    (tmp_path / "album.zip").write_bytes(zip_of({"b.jpg": _jpeg(1), "a/c.jpg": _jpeg(2), "notes.txt": b"x"}))
    inflated = []
    real = zipfile.ZipFile.read
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda self, info, pwd=None: inflated.append(info) or real(self, info, pwd))
    photos, problems = uploads.zip_photos(tmp_path / "album.zip", "album.zip")
    assert [p.name for p in photos] == ["album.zip/a/c.jpg", "album.zip/b.jpg"] and inflated == []
    assert problems == ["album.zip: 1 file that is not an image skipped (e.g. 'notes.txt')"]
    assert photos[1].read() == _jpeg(1) and len(inflated) == 1
    photos[1].seek(0)  # spatial verification reads a photo again: it is inflated again, never kept
    assert photos[1].read() == _jpeg(1) and len(inflated) == 2 and not hasattr(photos[1], "data")


def test_zip_photos_take_any_number_but_refuse_one_photo_past_the_bomb_limit(tmp_path):
    # The Predict page's limits (2,000 photos, 500 MB in all) bound its memory; `glr predict`, a photo at a time, has
    # none but each photo's declared size: a member "a.jpg" that would inflate past it is never inflated.
    (tmp_path / "album.zip").write_bytes(zip_of({f"{i}.jpg": _jpeg(i) for i in range(5)} | {"bomb.jpg": bytes(5000)}))
    photos, problems = uploads.zip_photos(tmp_path / "album.zip", "album.zip", max_photo_bytes=4000)
    assert len(photos) == 5 and "album.zip/bomb.jpg" not in [p.name for p in photos]
    assert problems == ["album.zip: 1 image skipped past 0 MB uncompressed each (no photo is that big: a zip bomb?)"]


def test_a_damaged_zip_photo_says_the_zip_is_damaged_when_read(tmp_path):
    import zipfile

    from glr.data.images import decode_image
    from glr.errors import ImageError

    with zipfile.ZipFile(tmp_path / "album.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.jpg", _jpeg(1) * 3)
    data = bytearray((tmp_path / "album.zip").read_bytes())
    data[60:90] = bytes(30)  # inside a.jpg's deflated bytes
    (tmp_path / "album.zip").write_bytes(bytes(data))
    photos, problems = uploads.zip_photos(tmp_path / "album.zip", "album.zip")
    with pytest.raises(ImageError, match=r"album.zip/a.jpg: cannot be read \(the zip is damaged: "):
        decode_image(photos[0])


def test_a_zip_member_without_an_extension_is_a_photo_when_its_bytes_say_so():
    # Training reads `Tower/IMG_7` by its first bytes (glr.data.photo_files.is_photo); a zip skipped it as "not an image".
    data = zip_of({"IMG_7": _jpeg(1), "README": b"just text", "a.jpg": _jpeg(2)})
    images, problems = uploads.read_zip_images(data, "album.zip")
    assert [n for n, _ in images] == ["IMG_7", "a.jpg"]
    assert problems == ["album.zip: 1 file that is not an image skipped (e.g. 'README')"]


def test_a_utf8_name_a_zip_tool_did_not_flag_is_read_as_utf8(tmp_path):
    # Linux's `zip` (Info-ZIP 3.0) writes "café.jpg" in UTF-8 without the UTF-8 flag; zipfile reads such a name as code
    # page 437, so the photo was "caf├⌐.jpg" (its id "caf├⌐", a class "Caf├⌐"). An old Windows zip's cp437 stays as is.
    import zipfile

    with zipfile.ZipFile(tmp_path / "album.zip", "w") as archive:
        archive.writestr("cafXY.jpg", _jpeg(1))  # replaced below by UTF-8 bytes, no flag
        archive.writestr("Ze.jpg", _jpeg(2))  # replaced below by cp437's 0x82 (é), no flag
        archive.writestr("Tour/\u00e9t\u00e9.jpg", _jpeg(3))  # flagged UTF-8, as zipfile writes it
    data = (tmp_path / "album.zip").read_bytes().replace(b"cafXY", b"caf\xc3\xa9").replace(b"Ze.jpg", b"\x82e.jpg")
    (tmp_path / "album.zip").write_bytes(data)
    images, problems = uploads.read_zip_images(data, "album.zip")
    assert [n for n, _ in images] == ["Tour/\u00e9t\u00e9.jpg", "caf\u00e9.jpg", "\u00e9e.jpg"] and problems == []
    photos, _ = uploads.zip_photos(tmp_path / "album.zip", "album.zip")
    assert [p.name for p in photos] == [f"album.zip/{n}" for n, _ in images] and photos[1].read() == _jpeg(1)


def test_a_password_protected_zip_says_how_to_get_its_photos(tmp_path):
    # It said "1 encrypted file skipped (e.g. 'a.jpg')", and of a zip with only those, nothing more.
    data = bytearray(zip_of({"a.jpg": _jpeg(1), "b.jpg": _jpeg(2)}))
    for header, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # a's headers marked encrypted, as `zip -e` writes
        at = data.index(header)
        data[at + flags] |= 1
    images, problems = uploads.read_zip_images(bytes(data), "album.zip")
    assert [n for n, _ in images] == ["b.jpg"]
    assert problems == ["album.zip: 1 encrypted file skipped (e.g. 'a.jpg'): the zip has a password; unzip it with "
                        "its password, then give its photos"]
    (tmp_path / "album.zip").write_bytes(bytes(data))
    assert uploads.zip_photos(tmp_path / "album.zip", "album.zip")[1] == problems


def test_the_last_part_of_a_split_zip_names_the_photos_in_its_other_parts(tmp_path):
    # album.zip of album.z01, album.z02 (WinZip, 7-Zip, `zip -s`): a photo starting in an earlier part was read at its
    # offset in album.zip, "cannot be read, the zip is damaged (Bad magic number for file header)".
    import struct

    data = bytearray(zip_of({"a.jpg": _jpeg(1), "b.jpg": _jpeg(2)}))
    end = data.rindex(b"PK\x05\x06")
    data[end + 4:end + 8] = struct.pack("<HH", 1, 1)  # the directory ends on part 1 (the second): a split zip
    b_entry = data.rindex(b"PK\x01\x02")  # b.jpg starts in this part, a.jpg in the one before
    data[b_entry + 34:b_entry + 36] = struct.pack("<H", 1)
    images, problems = uploads.read_zip_images(bytes(data), "album.zip")
    assert [n for n, _ in images] == ["b.jpg"]
    assert problems == ["album.zip: the last part of a split zip: 1 file in its other parts not read (e.g. 'a.jpg'); "
                        "join the parts into one zip first (zip -s 0 album.zip --out whole.zip, or 7-Zip), then give that"]
    assert uploads.read_zip_images(zip_of({"a.jpg": _jpeg(1)}), "one.zip")[1] == []  # a zip in one piece: part 0



def test_a_split_zips_part_is_read_without_zipfiles_private_end_record_reader(tmp_path, monkeypatch):
    """The part number came from zipfile._EndRecData, private; now from the end record as the zip format lays it out,
    behind a comment too, and from a zip64 zip's locator (which counts the parts)."""
    import struct
    import types
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.jpg", _jpeg(1))
        archive.writestr("b.jpg", _jpeg(2))
        archive.comment = b"a comment after the end record"
    data = bytearray(buffer.getvalue())
    end = data.rindex(b"PK\x05\x06", 0, len(data) - len(archive.comment))
    data[end + 4:end + 8] = struct.pack("<HH", 1, 1)  # the directory ends on part 1: a split zip
    b_entry = data.rindex(b"PK\x01\x02")
    data[b_entry + 34:b_entry + 36] = struct.pack("<H", 1)
    split, whole = zipfile.ZipFile(io.BytesIO(bytes(data))), zipfile.ZipFile(io.BytesIO(zip_of({"a.jpg": _jpeg(1)})))
    # Opening a zip reads the end record with it (zipfile's own business); the part number is read without it.
    monkeypatch.setattr(zipfile, "_EndRecData", lambda fp: pytest.fail("zipfile's private reader used"), raising=False)
    assert uploads._last_disk(split) == 1 and uploads._last_disk(whole) == 0
    split.close(), whole.close()
    zip64 = bytearray(zip_of({"a.jpg": _jpeg(1)}))
    end = zip64.rindex(b"PK\x05\x06")
    zip64[end + 4:end + 6] = b"\xff\xff"  # as a zip64 zip says it: the count of parts in the locator before it
    zip64[end:end] = b"PK\x06\x07" + struct.pack("<IQI", 2, 0, 3)  # parts 0, 1, 2: the directory ends on 2
    assert uploads._last_disk(types.SimpleNamespace(fp=io.BytesIO(bytes(zip64)))) == 2  # the zip as zipfile holds it

def test_a_zips_raws_and_sidecars_are_said_by_kind_once_each():
    # Each kind was "N files that are not images skipped (e.g. 'DSC_1.NEF')", where training says what they are.
    data = zip_of({"a.jpg": _jpeg(1), "DSC_1.NEF": b"x", "DSC_2.nef": b"x", "a.jpg.xmp": b"x", "notes.txt": b"x"})
    images, problems = uploads.read_zip_images(data, "album.zip")
    assert [n for n, _ in images] == ["a.jpg"] and problems == [
        "album.zip: 2 camera raw photos (e.g. 'DSC_1.NEF', 'DSC_2.nef'): a format glr cannot read; skipped: export them "
        "as JPEG first (glr reads JPEG, PNG, WebP, HEIC, AVIF, GIF, BMP, TIFF or ICO)",
        "album.zip: 1 sidecar file (e.g. 'a.jpg.xmp'): a photo app's edits and metadata, written beside its photos (the "
        "photos are read); passed over",
        "album.zip: 1 file that is not an image skipped (e.g. 'notes.txt')"]


def test_a_zip_of_only_raws_and_sidecars_still_says_it_holds_no_images():
    images, problems = uploads.read_zip_images(zip_of({"DSC_1.NEF": b"x", "DSC_1.xmp": b"x"}), "raws.zip")
    assert images == [] and len(problems) == 3 and problems[-1].startswith("raws.zip: holds no images (")
