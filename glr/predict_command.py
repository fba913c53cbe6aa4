"""`python -m glr predict`: top-k predictions for photos, or a Kaggle submission for a folder, in the terminal.

The predicting is glr.predict and the submission glr.submission; this is what the terminal needs
around them: each photo once, a folder's skipped files listed, notes on stderr, the outcome printed.
"""

from __future__ import annotations

import glob
import os
import re
import sys
from pathlib import Path

from glr.paths import shown
from glr.commands import PhotoProgress, find_run
from glr.data.sniff import WEB_ADDRESS
from glr.errors import GlrError

SKIPPED_LISTED = 20  # skipped files named one per line; the rest are counted by type
# `-` given as a photo (the exported predict.py says the same): neither reads a photo from a pipe.
STDIN_NOT_READ = ("standard input is not read: give the photo files or a folder of them (a photo piped in: "
                  "save it to a file first)")
# A folder glr made (submission.glr_folder) given where photos go: said once, as the exported predict.py says it.
GIVE_PHOTOS = "give the photos to predict, or a folder of them: python -m glr predict RUN PHOTOS..."


def cmd_predict(args) -> int:
    """Top-k predictions for images, or a Kaggle submission CSV for a folder (or for the images, with --out); with
    `--out -` the CSV alone on stdout (for `> sub.csv`, `| gzip`), everything else on stderr."""
    if args.out != "-":  # `--out -` wrote a file named "-", where a pipe's user expects stdout
        return _predict(args, None)
    import contextlib

    csv_out = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        return _predict(args, csv_out)


def _predict(args, csv_out) -> int:
    """cmd_predict, the submission written to `csv_out` (a stream) when given, else to its file."""
    from glr.predict import DEFAULT_TOP_K, Predictor
    from glr import submission

    run = _run_of_export(args.run) or find_run(args.run, args.results)
    images = given = _given_once(args.images)
    folder = images[0] if len(images) == 1 and Path(images[0]).is_dir() else None
    if folder and (mine := submission.glr_folder(folder)):  # was "no images found (...); 1 other file skipped, e.g. ..."
        raise GlrError(f"{folder}: {mine}; {GIVE_PHOTOS}")
    target = Path(args.out) if args.out else (submission.default_submission_path(folder) if folder else None)
    own = _own_outputs(None if csv_out else target)
    images, empty = (images, 0) if folder else _folders_opened(images, own)
    found, skipped = submission.scan_folder(folder) if folder else ([], [])
    skipped = _not_own(skipped, own)
    if folder and not found:
        submission.list_images(folder)  # says why, before the model is loaded
    if target and csv_out is None:
        _not_over_an_input(target, given, run)
        _check_writable(target)
    predictor = Predictor(run, backend=args.backend)
    if predictor.backend_note:
        print(f"note: {predictor.backend_note}", file=sys.stderr)
    if predictor.recognizer is None:
        print(f"note: no unknown verdict or similar photos: {predictor.retrieval_problem}", file=sys.stderr)
    elif predictor.recognizer.verify_problem:
        print(f"note: no spatial verification: {predictor.recognizer.verify_problem}", file=sys.stderr)
    unknown = _unknown_policy(args.unknown, predictor, bool(folder or args.out))
    if folder:
        if args.top_k != DEFAULT_TOP_K or args.similar:
            print("note: --top-k and --similar are for photos; a folder's submission has each one's best", file=sys.stderr)
        _say_skipped(skipped)
        table, outcomes, partial = _predict_folder(predictor, run, folder, found, unknown, None if csv_out else target)
        out = _written(table, target, csv_out)
        partial.remove()  # the submission is written: the predictions it kept are in it
        failed = [o["error"] for o in outcomes if o["error"]]
        for error in failed:
            print(f"  not predicted {error}", file=sys.stderr)
        called = sum(not o["error"] and o["unknown"] for o in outcomes)
        what = {"last": "ranked after every known photo", "empty": "left without a prediction",
                "keep": "kept with their raw confidence"}[unknown]
        verdict = (f", {called} called not a known landmark ({what})" if predictor.recognizer is not None
                   else " (no unknown verdict for this run)")
        print(f"wrote {out}: {len(table) - len(failed)} predicted{verdict}, {len(failed)} unreadable or blank, "
              f"{len(skipped)} skipped")
        return 0
    from glr.photo_listing import Lister, predict_listed

    if args.out:  # the photos' submission (a zip's), kept as it comes, as a folder's is (`--out -`: held in memory)
        lister = Lister(predictor)  # `| head` left: the submission is still written, not lost with the listing
        table, outcomes, partial = _predict_folder(predictor, run, None, images, unknown, None if csv_out else target,
                                                   names=list(map(_name, images)), k=args.top_k, similar=args.similar,
                                                   listing=lister)
        out, gone, ok = _written(table, target, csv_out), lister.gone, not any(o["error"] for o in outcomes)
        partial.remove()
    else:  # each batch printed and let go: nothing per photo is held (100,000 photos held 121 MB of predictions)
        ok, gone = predict_listed(predictor, images, args.top_k, args.similar), False
    if args.out and not gone:
        print(f"wrote {out}")
    if gone:
        raise BrokenPipeError(32, "the listing's reader left")
    return 0 if ok and not empty else 1


def _own_outputs(target: Path | None) -> set[str]:
    """The files this command writes for the submission `target` (None: none, or a stream), resolved: the CSV and its
    partial file. `--out photos/sub.csv` put them among the photos, and the next run listed them as skipped photos."""
    from glr.partial import PARTIAL_SUFFIX

    if target is None:
        return set()
    target = target / "submission.csv" if target.is_dir() else target
    return {os.path.realpath(target), os.path.realpath(str(target) + PARTIAL_SUFFIX)}


def _not_own(skipped: list[tuple[str, str]], own: set[str]) -> list[tuple[str, str]]:
    """The skipped files of a folder without glr's own outputs (`own`): they are not photos the user gave."""
    return [item for item in skipped if os.path.realpath(item[0]) not in own] if own else skipped


def _unknown_policy(given: str, predictor, submission: bool) -> str:
    """The --unknown that applies (`given`, a choice of glr.submission.UNKNOWN_POLICIES): one asked for where it means
    nothing is said once as ignored. A run without a verdict calls no photo unknown, so every choice writes the same
    CSV: "last" then, and a partial file made with another is still reused (it was "made with another --unknown")."""
    if given == "last":  # the default: asked for or not, nothing to say
        return given
    if not submission:
        print(f"note: --unknown {given} is ignored: it is for a submission (a folder, or --out)", file=sys.stderr)
        return given
    if predictor.recognizer is None:
        print(f"note: --unknown {given} is ignored: this run gives no unknown verdict, so no "
              "photo is called not a known landmark", file=sys.stderr)
        return "last"
    return given


def _run_of_export(ref: str):
    """The run an export folder (`<run>/export/onnx/`) given as the run was made from, said in a note; None for any
    other RUN. An export moved out of its run is refused, naming what to give: glr predicts with a run's model.keras,
    which an export does not hold (it said "is a folder but not a run folder")."""
    from glr import submission
    from glr.training.run import Run

    folder = Path(ref)
    if not all((folder / mark).is_file() for mark in submission.EXPORT_MARKS):
        return None
    run = Run(folder.resolve().parent.parent)
    if run.config_path.is_file() and run.export_dir == folder.resolve().parent:
        print(f"note: {ref} is an export of the run {run.path}: predicting with that run (the export's own predict.py "
              f"is: python {folder / 'predict.py'} PHOTOS)", file=sys.stderr)
        return run
    raise GlrError(f"{ref} is a glr export folder, not a run: predict with its own predict.py (python "
                   f"{folder / 'predict.py'} PHOTOS), or give glr predict the run it was exported from")


def _folders_opened(images: list[str], own: set[str] = frozenset()) -> tuple[list, int]:
    """(the photos, each once, with each folder among several photos and folders replaced by its photos, as the
    exported predict.py takes them, and each zip by the photos inside, as the Predict page takes one; how many folders
    and zips gave none, or a photo that could not be read). Each folder was "is a folder, not an image file", each zip
    "not an image but a zip archive: unzip it first". The files in `own` (_own_outputs) are not said skipped."""
    from glr import submission

    photos, empty, kinds = [], 0, set()
    for image in images:
        if _is_zip(image):
            inside, failed = _zip_photos(image)
            photos += inside
            empty += failed
            kinds.add("zips")
            continue
        if not Path(image).is_dir():
            photos.append(image)
            continue
        kinds.add("folders")
        if mine := submission.glr_folder(image):  # said once, not "no images found" after a listing of its files
            print(f"{image}: error: {mine}; {GIVE_PHOTOS}", file=sys.stderr)
            empty += 1
            continue
        found, skipped = submission.scan_folder(image)
        _say_skipped(_not_own(skipped, own))
        if not found:
            print(f"{image}: error: no images found in this folder (looked for {', '.join(submission.IMAGE_EXTENSIONS)})",
                  file=sys.stderr)
        photos += found
        empty += not found
    if not photos:  # said before the model is loaded
        raise GlrError(f"no photos to predict in the {' and '.join(sorted(kinds))} given")
    return (photos if photos == images else _once(photos)), empty  # "a.jpg" and its folder: predicted once


def _is_zip(image: str) -> bool:
    """Whether `image` is a zip file to open (by its name, as the Predict page decides): a 7z or RAR archive, or a zip
    named as a photo, keeps the decoder's "not an image but ...: unpack it first"."""
    return image.lower().endswith(".zip") and Path(image).is_file()


def _zip_photos(path: str) -> tuple[list, bool]:
    """(the photos inside the zip at `path`, each read only when predicted and named "album.zip/inner/a.jpg" (uploads.
    ZipPhoto); whether it gave none). Taken by the Predict page's rules (unsafe names and nested zips refused,
    no bomb inflated), its problems on stderr, but not its limits of 2,000 photos and 500 MB, which keep the page's
    memory bounded: here a photo at a time is in memory (a zip of 500 MB of phone photos held 500 MB+)."""
    from glr.data import uploads

    try:
        inside, problems = uploads.zip_photos(path, path)
    except OSError as exc:
        print(f"{path}: error: cannot be read ({exc.strerror or exc})", file=sys.stderr)
        return [], True
    for i, problem in enumerate(problems):  # with no photo inside, the last says why ("holds no images ...")
        last = not inside and i == len(problems) - 1
        print(f"{path}: error: {problem.removeprefix(f'{path}: ')}" if last else f"  {problem}", file=sys.stderr)
    return inside, not inside


def _name(photo) -> str:
    """A photo's name: its path, or a zip member's "album.zip/inner/a.jpg"."""
    return photo if isinstance(photo, str) else photo.name


def _once(photos: list) -> list:
    """The photos, each once (`same_photo`; a zip's members are each once already), the repeats said: a folder given
    again through a link to it was one note per photo, 1,000 lines for 1,000 photos."""
    kept: dict = {}
    repeats = []
    for photo in photos:
        key = same_photo(photo) if isinstance(photo, str) else id(photo)
        if key in kept:
            repeats.append(photo)
        kept.setdefault(key, photo)
    for photo in repeats[:SKIPPED_LISTED]:
        print(f"note: {shown(_name(photo))} was given twice: predicted once", file=sys.stderr)
    if len(repeats) > SKIPPED_LISTED:
        print(f"note: {len(repeats) - SKIPPED_LISTED} more photos were given twice: each predicted once", file=sys.stderr)
    return list(kept.values())


def same_photo(image: str) -> tuple[str, str]:
    """What makes two given names one photo: the same file (`a.jpg`, `./a.jpg`, `link/a.jpg` through a link to its
    folder) under the same name. A link with a name of its own (`b.jpg -> a.jpg`) is a photo of its own, with its own
    id in a submission, as a test set may hold one image twice."""
    return os.path.realpath(image), os.path.basename(os.path.normpath(image))


def _not_over_an_input(target: Path, given: list[str], run) -> None:
    """GlrError when the submission would be written over one of the files given (a photo named without an
    extension, a zip) or a file of the run (`--out RUN/config.json`), as the exported predict.py refuses its own, or
    over any file that is no submission."""
    from glr import submission

    target = target / "submission.csv" if target.is_dir() else target
    try:
        there = os.stat(target)
    except OSError:  # not there yet: nothing to overwrite
        return
    for path in given:
        try:
            same = os.path.samestat(there, os.stat(path))
        except OSError:
            continue
        if same:
            raise GlrError(f"--out {target} is {path}, one of the files to predict; give the CSV another name")
    run_folder = getattr(run, "path", None)
    if run_folder is not None and Path(run_folder).resolve() in Path(target).resolve().parents:
        raise GlrError(f"--out {target} is a file of the run {run_folder}, which it needs; give the CSV another name")
    # Any file was overwritten: another run's model.keras, the dataset's train.csv. A submission is written again.
    if why := submission.not_a_submission(target):
        raise GlrError(f"--out {target} exists and is not a submission ({why}), so it is not overwritten; "
                       "give the CSV another name, or delete that file first")


def dash_named_photo(parser, argv: list[str]) -> str | None:
    """What to write instead when a photo given to `predict` is named like an option ("-beach.jpg", a name Kaggle's
    ids allow): argparse took it for one and said "the following arguments are required: images"; else None."""
    if argv[:1] != ["predict"]:
        return None
    for given in argv[1:argv.index("--") if "--" in argv else len(argv)]:  # after "--" it is a photo already
        if given.startswith("-") and given != "-" and given.split("=")[0] not in parser._option_string_actions \
                and os.path.lexists(given):
            return (f"{given} is a photo whose name starts with '-', which reads as an option: write it ./{given}, "
                    f"or put -- before the photos (python -m glr predict RUN -- {given})")
    return None


def _written(table, target: Path, csv_out) -> str:
    """Write the submission to `csv_out` (a stream: `--out -`) or else to `target`; where it went, for the user."""
    from glr import submission

    if csv_out is None:
        return str(submission.write_submission(target, table).resolve())
    data = submission.csv_bytes(table)  # UTF-8 whatever the terminal's encoding: ids as Kaggle expects them
    if hasattr(csv_out, "buffer"):
        csv_out.flush()
        csv_out.buffer.write(data)
        csv_out.buffer.flush()
    else:
        csv_out.write(data.decode("utf-8"))
    return "the submission to standard output"


def _predict_folder(predictor, run, folder: str | None, found: list, unknown: str, target, **photos):
    """glr.folder_submission.predict_folder with its progress shown: a bar on a terminal; off one (`> log 2>&1`, nohup),
    a line saying what it does, a line at most every 30 s and one at the end, where a bar said nothing for hours.
    Photos given one by one (`photos`: their names, k, similar, listing) are listed instead, as they come."""
    from glr.folder_submission import predict_folder

    progress = PhotoProgress("predicting photos") if folder else (lambda done, total: None)
    try:
        return predict_folder(predictor, run, folder, found, unknown, target, progress, **photos)
    finally:
        getattr(progress, "close", lambda: None)()


def _check_writable(out: Path) -> None:
    """Raise GlrError if the submission cannot be written at `out` (a file, or a folder to hold submission.csv).

    Checked before the model is loaded: a read-only folder (a locked photo card, a share, a folder beside the photos
    that is not the user's) was found only when every photo had been predicted, and the hour it took was lost."""
    import tempfile

    target = out / "submission.csv" if out.is_dir() else out
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # as the writing will
        with tempfile.TemporaryFile(dir=target.parent, prefix=".glr-write-check-"):
            pass
    except OSError as exc:
        raise GlrError(f"{target}: cannot write the submission ({exc.strerror or exc}); choose another file with --out, "
                       "or a folder you can write to") from None


def _given_once(images: list[str]) -> list[str]:
    """The photos asked for, each once ("a.jpg ./a.jpg" is one photo), a quoted "~/x.jpg" or "photos/*.jpg" expanded
    as a shell would (Windows' cmd passes a pattern on as it was typed); GlrError for `-`, as stdin is not read."""
    kept: dict[str, str] = {}
    if "-" in images and not os.path.lexists("-"):  # "file not found" left the user wondering what to give instead
        raise GlrError(f"-: {STDIN_NOT_READ}")
    # A photo's web address is kept as given (Path would make "https:/" of it), for the decoder to name it as one.
    for image in (found for given in images for found in _expanded(given if re.match(WEB_ADDRESS, given)
                                                                  else str(Path(given).expanduser()))):
        if (key := same_photo(image)) in kept:
            print(f"note: {shown(image)} was given twice: predicted once", file=sys.stderr)
        kept.setdefault(key, image)
    return list(kept.values())


def _expanded(image: str) -> list[str]:
    """`image`'s matches, sorted, when it is a pattern (`*`, `?`, `[`) that names no file itself; else `image`.

    A pattern that matches nothing is an error naming it, where "file not found" would leave the user wondering."""
    if os.path.lexists(image) or not re.search(r"[*?[]", image) or re.match(WEB_ADDRESS, image):  # a URL's "?"
        return [image]
    found = sorted(glob.glob(image))
    if not found:
        raise GlrError(f"{image}: no file matches this pattern")
    return found


def _say_skipped(skipped: list[tuple[str, str]]) -> None:
    """Say on stderr the files that are not photos: the first SKIPPED_LISTED named, the rest counted by extension,
    then a raw, a sidecar, a Live Photo's video... one line per kind with a count (glr.data.skipped_files).

    A photo export with a .json beside each photo (Google Takeout) printed one line per file, 10,000 for 10,000;
    500 photos with a .xmp and a .aae beside each were 20 lines of ".xmp is not an image type" and a count.
    """
    from collections import Counter

    from glr.data.layouts import examples  # inside: layouts takes pandas, which `python -m glr --help` does without
    from glr.data.skipped_files import kind_notes, one_reason

    by_kind = [reason == one_reason(path) for path, reason in skipped]  # a broken link named a.xmp is said as one
    kinds, _ = kind_notes([path for (path, _), kind in zip(skipped, by_kind) if kind], examples, shown)
    skipped = [item for item, kind in zip(skipped, by_kind) if not kind]
    for path, reason in skipped[:SKIPPED_LISTED]:
        print(f"  skipped {shown(path)}: {reason}", file=sys.stderr)
    if len(skipped) > SKIPPED_LISTED:
        kinds_of = Counter(Path(path).suffix.lower() or "without an extension" for path, _ in skipped[SKIPPED_LISTED:])
        counted = ", ".join(f"{n} {kind}" for kind, n in kinds_of.most_common())
        print(f"  skipped {len(skipped) - SKIPPED_LISTED} more files that are not photos: {counted}", file=sys.stderr)
    for note in kinds:
        print(f"  {note}", file=sys.stderr)
