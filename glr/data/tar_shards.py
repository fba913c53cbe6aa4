"""Take the curated photos out of GLDv2's tar shards (`images_000.tar` ... `images_499.tar`), each read once in order.

The release ships 500 shards of about 1 GB, each with an md5 file
(`md5.images_000.txt`: the hash, then the file name). A shard whose md5 file is there is
checked first and skipped if it does not match (a partial or damaged download); the
others are streamed member by member, and only members whose file name is a wanted id
are read, checked to decode and written atomically to `train/a/b/c/<id>.jpg`. A copy that
does not decode (or is cut off) leaves its photo to a later shard's copy; the first good copy
is taken. A shard that ends early (still downloading) gives the photos before its end. The path a member is
written to comes from its id, never from the member's name, so a hostile archive cannot
write outside the dataset.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
from pathlib import Path, PurePosixPath
from typing import Callable

from glr.data import fetch as f
from glr.errors import DatasetError, GlrError

SHARD_GLOB = "images_*.tar"
MD5_CHUNK = 1024 * 1024
MD5_PATTERN = re.compile(r"[0-9a-f]{32}")


def md5_file(shard: Path) -> Path | None:
    """The md5 file of a shard, as the release names it (`md5.images_000.txt`) or as `images_000.tar.md5`."""
    for candidate in (shard.with_name(f"md5.{shard.stem}.txt"), shard.with_name(shard.name + ".md5")):
        if candidate.is_file():
            return candidate
    return None


def expected_md5(shard: Path) -> str | None:
    """The hash the shard's md5 file states (its first word), or None without one."""
    path = md5_file(shard)
    if path is None:
        return None
    words = path.read_text(encoding="utf-8", errors="replace").split()
    return words[0].lower() if words else ""


def file_md5(path: Path) -> str:
    """The md5 of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(MD5_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _check(shard: Path, report: f.FetchReport) -> bool:
    """Whether the shard may be read: its md5 matches, or it has no md5 file."""
    expected = expected_md5(shard)
    if expected is None:
        return True
    if not MD5_PATTERN.fullmatch(expected):
        # An empty md5 file, or an error page saved under its name: it states no hash, so it cannot condemn a
        # 1 GB shard (each photo is still checked to decode).
        report.notes.append(f"{md5_file(shard).name}: holds no md5 ({expected[:40] or 'empty'!r}); "
                            f"{shard.name} read unchecked (download the md5 file again to check it)")
        return True
    actual = file_md5(shard)
    if actual == expected:
        return True
    report.notes.append(f"{shard.name}: md5 {actual} does not match {expected} in {md5_file(shard).name}; "
                        "skipped (a partial or damaged download: download it again)")
    return False


def _ends_whole(shard: Path, tar: tarfile.TarFile) -> bool:
    """Whether the archive stops at its end marker: tarfile stops without a word at a header cut off or garbled
    after the first member, which a shard still downloading (or damaged) has."""
    if getattr(tar.fileobj, "comptype", "tar") != "tar":
        return True  # a compressed stream: its offsets are not the file's
    with open(shard, "rb") as fh:
        fh.seek(tar.offset)
        return fh.read(tarfile.BLOCKSIZE) == tarfile.NUL * tarfile.BLOCKSIZE


def _extract(shard: Path, root: Path, wanted: set[str], bad: dict[str, list[tuple[str, str]]], report: f.FetchReport,
             tick: Callable[[], None]) -> bool:
    """Stream one shard and save the wanted photos in it (removing them from `wanted`); whether it was read to its end.

    A copy that cannot be saved leaves its photo wanted, since a later shard may hold a good copy; its
    fault goes to `bad` (id -> [(reason, "detail in images_NNN.tar")]).
    """
    seen, current = 0, None
    try:
        with tarfile.open(shard, mode="r|*") as tar:
            for member in tar:
                seen += 1
                image_id = PurePosixPath(member.name).stem
                if not member.isfile() or image_id not in wanted:
                    continue
                current = image_id
                if member.size > f.MAX_BYTES:
                    reason, detail = f.TOO_LARGE, f"{member.size:,} bytes "
                else:
                    reason, detail = f.save_image(root, image_id, tar.extractfile(member).read()), ""
                current = None
                if reason:
                    bad.setdefault(image_id, []).append((reason, f"{detail}in {shard.name}"))
                else:
                    wanted.discard(image_id)
                    report.fetched += 1
                    tick()
            if not _ends_whole(shard, tar):
                raise tarfile.ReadError("no end-of-archive marker after its last whole member")
    except (tarfile.TarError, EOFError) as exc:
        if current:  # the member being read was cut off
            bad.setdefault(current, []).append((f.TRUNCATED, f"in {shard.name}, which ends early"))
        report.notes.append(f"{shard.name}: ends early or is damaged ({exc}); took the photos before that point" if seen
                            else f"{shard.name}: not a tar archive ({exc}); skipped (download it again)")
        return False
    except OSError as exc:
        if isinstance(exc, GlrError):
            raise  # the photos cannot be written (a full disk...): not the shard's fault
        report.notes.append(f"{shard.name}: cannot be read ({exc.strerror or exc}); skipped")
        return False
    return True


def _bad_copies(copies: list[tuple[str, str]]) -> tuple[str, str]:
    """One failure (reason, detail) for a photo whose every copy was bad: the first copy's reason, every shard named."""
    if len(copies) == 1:
        return copies[0]
    return copies[0][0], f"{len(copies)} copies, none usable: " + "; ".join(f"{r} {d}" for r, d in copies)


def extract_from_shards(folder: Path, root: Path, ids: list[str], report: f.FetchReport,
                        progress: Callable[[int, int], None] | None = None) -> None:
    """Save the photos `ids` found in the shards of `folder` (or in the one shard it names); those in none are failures."""
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise DatasetError(f"{folder}: no such folder; --from-shards takes the folder that holds the images_NNN.tar shards")
    shards = [folder] if folder.is_file() else sorted(folder.glob(SHARD_GLOB))  # one shard may be named itself
    if not shards:
        raise DatasetError(f"{folder}: no tar shards ({SHARD_GLOB}); download some of GLDv2's train/images_NNN.tar")
    wanted, total, skipped, partial = set(ids), len(set(ids)), [], []
    bad: dict[str, list[tuple[str, str]]] = {}
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    for shard in shards:
        if not wanted:
            break
        if not _check(shard, report):
            skipped.append(shard.name)
        elif not _extract(shard, root, wanted, bad, report, tick):
            partial.append(shard.name)
    # A photo missing from a shard that could not be read whole may be in its missing part: say so.
    detail = f"searched {len(shards) - len(skipped) - len(partial)} of {len(shards)} shards whole" + (
        f" ({f.BAD_MD5}: {', '.join(skipped[:5])})" if skipped else "") + (
        f" (cut short, damaged or unreadable, so it may be in: {', '.join(partial[:5])})" if partial else "")
    for image_id in sorted(wanted):
        report.fail(image_id, *(_bad_copies(bad[image_id]) if image_id in bad else (f.NOT_IN_SHARDS, detail)))
        tick()
