"""The --out CSV of the exported predict.py (glr.export_script): its predictions as a CSV for people, as glr writes one.

Python source, pasted into predict.py as it is (not a format template). It follows glr.spreadsheet's rule for a
CSV for people (a UTF-8 byte-order mark first, formula-like cells escaped by glr's own `escape_cell`, copied in) and
glr.atomic's for writing (a temporary file beside the target, moved onto it when done). As glr predict FOLDER keeps
its submission's rows, each photo's rows are kept as they come in `<target>.partial` (glr.partial's PartialFile, copied
in): Ctrl-C or a crash keeps them, and the same command continues from them. Nothing is held in memory: 10,000 photos
take no more than one. It uses what predict.py defines before it: Usage, HERE, NOTE, EXPORT_FILES, IMAGE_EXTENSIONS,
ZipPhoto, escape_cell and printable with their constants.
"""

CSV_NAME = "predictions.csv"  # what --out FOLDER/ holds, as glr predict's holds submission.csv


def source() -> str:
    """SOURCE with glr's partial file (glr.partial: PARTIAL_SUFFIX, PartialFile and what it calls) and its photos'
    stamps (glr.folder_submission.photo_stamp) copied in before it, so predict.py keeps and reuses its predictions as
    glr predict does."""
    import inspect

    from glr import folder_submission, partial

    functions = (partial.PartialFile, partial._lock, partial._short, folder_submission.photo_stamp)
    return (f"PARTIAL_SUFFIX, BUSY = {partial.PARTIAL_SUFFIX!r}, {partial.BUSY!r}\n\n\n"
            + "\n\n".join(map(inspect.getsource, functions)) + "\n\n" + SOURCE)

SOURCE = r'''def csv_path(out):
    """Where `--out out` writes, unchecked: a folder (one there, or a name ending in a slash) holds predictions.csv."""
    return os.path.join(out, CSV_NAME) if out.endswith(("/", os.sep)) or os.path.isdir(out) else out


def own_outputs(out):
    """The files `--out out` writes (None or a stream: none), resolved: the CSV and its partial file. As glr predict:
    `--out photos/p.csv` put them among the photos, and the next run listed them as skipped files that are no photos."""
    if not isinstance(out, str):
        return frozenset()
    target = csv_path(out)
    return frozenset({os.path.realpath(target), os.path.realpath(target + PARTIAL_SUFFIX)})


def csv_target(out, photos):
    """Where `--out out` writes (csv_path). Usage for a name that is a photo's, by its extension or by being one of
    `photos`: the CSV would be written over it."""
    target = csv_path(out)
    if Path(target).suffix.lower() in IMAGE_EXTENSIONS:  # as glr predict's --out
        raise Usage(f"--out {out} names a photo; the predictions are a CSV file (or give a folder)")
    try:
        there = os.stat(target)
    except OSError:  # not there yet: nothing to overwrite
        return target
    for name in (NOTE.get("model"), *EXPORT_FILES):
        try:
            if name and os.path.samestat(there, os.stat(HERE / name)):  # `--out labels.json` run in the export folder
                raise Usage(f"--out {out} is this export's {name}, which predict.py needs; give the CSV another name")
        except OSError:
            continue
    for photo in photos:
        given = getattr(photo, "zip_name", photo)  # a photo inside a zip: the zip is the file given
        try:
            same = os.path.samestat(there, os.stat(given))
        except OSError:
            continue
        if same:  # a photo without an extension given by name, or a zip: the CSV would have replaced it
            raise Usage(f"--out {out} is {given}, one of the {'photos' if given is photo else 'zips'} to predict; "
                        "give the CSV another name")
    try:  # as glr predict's --out: any file was written over (a model, a dataset's train.csv), not only a CSV of ours
        with open(target, "rb") as file:
            start = file.read(64).removeprefix(b"\xef\xbb\xbf")
    except OSError:
        return target
    if start and not start.startswith(b"photo,rank,"):
        raise Usage(f"--out {out} exists and is not a CSV predict.py wrote (its first line is not 'photo,rank,...'), so "
                    "it is not overwritten; give the CSV another name, or delete that file first")
    return target


def six_places(value):
    """A score or similarity for the CSV: 6 decimals, as glr writes its confidences (a submission's, val_predictions.csv),
    but never rounded onto 0 or 1 (-1) when it is not that, by glr's rule for what a reader sees (glr.evaluation.readout):
    round() wrote 1.0 for a model's 0.9999996, and a similarity of 1.0 for a photo that is not a training photo's copy.
    Such a value is written whole. (A similarity past 1 by float32 rounding is 1 first, as glr says it.)"""
    rounded = round(float(value), 6)
    return float(value) if rounded in (0.0, 1.0, -1.0) and rounded != value else rounded


def export_stamp():
    """The size and time of each of the export's files beside this script: another says its predictions may differ."""
    stamps = []
    for name in EXPORT_FILES:
        try:
            info = os.stat(HERE / name)
        except OSError:
            continue
        stamps.append(f"{name}:{info.st_size}:{info.st_mtime_ns}")
    return " ".join(stamps)


class PredictionsCsv:
    """The predictions as a CSV for people: one row per photo and rank (a photo not predicted: one row saying why).

    Each photo's rows are kept in the partial file beside the target as they come, and the CSV is written into a
    temporary file beside it and moved onto it only when every photo is done, so Ctrl-C, a crash or a full disk leaves
    no half-written CSV (an older one stays as it was), and the same command continues from the partial file (the
    photos it holds not predicted again: `kept`). `out`: the file's name, or a stream for --out - (the standard output,
    written as it goes). `top_k`: the rows a photo has (--top-k), part of the partial file's key."""

    def __init__(self, out, photos, verdict, top_k=5):
        self.columns = ["photo", "rank", "landmark_id", "name", "score", "problem"]
        if verdict:
            self.columns[5:5] = ["known_score", "not_a_known_landmark", "nearest_training_photo", "nearest_landmark_id",
                                 "similarity"]
        self.target = self.partial = None
        self.photos, self.failed_before = photos, 0
        self.listing_gone = False  # the stdout listing's reader left (`| head`): this CSV is finished all the same
        if not isinstance(out, str):
            self.file = getattr(out, "buffer", None)  # UTF-8 bytes, whatever the console's encoding
            self.text = out if self.file is None else None
            self._write(BOM, self.columns)
            return
        self.target = csv_target(out, photos)
        # As glr's partial_for keys its options: stopped with --top-k 3 and run again without it, the 3-row photos
        # kept were written beside 5-row ones. A str, so the note says "(3, now 5)".
        self.partial = PartialFile(self.target, {"export": str(HERE), "model, labels or index of the export":
                                                 export_stamp(), "columns": ",".join(self.columns), "--top-k": str(top_k)})
        self.stamps = {str(photo): photo_stamp(photo) for photo in photos}
        note = self.partial.resume(self.stamps)
        try:
            self.partial.open()  # as glr's --out new/: its folder made
        except OSError as exc:  # said before any photo is predicted, not after an hour of them
            why = "a file is where its folder must be" if isinstance(exc, (FileExistsError, NotADirectoryError)) \
                else exc.strerror or exc
            sys.exit(f"predict.py: {self.target}: cannot write the predictions ({why})" + (
                "" if isinstance(exc, BlockingIOError) else "; choose another file with --out, or a folder you can write to"))
        if note:
            print(f"note: {note}", file=sys.stderr)
        kept = [str(photo) for photo in photos if self.kept(photo)]
        for outcome in self.partial.outcomes(kept):  # as an uninterrupted run says them; their listing is not repeated
            if outcome["failed"]:
                print(outcome["failed"], file=sys.stderr)
                self.failed_before += 1

    def kept(self, photo):
        """Whether `photo`'s rows are in the partial file already (a run stopped before predicted it)."""
        return self.partial is not None and str(photo) in self.partial.offsets

    def _write(self, start, cells):
        """One row, each text cell escaped as glr escapes a CSV for people's; a row holding a carriage return is
        quoted whole, as Python's csv would leave a bare one unquoted with "\n" line ends and split the row there."""
        # As glr writes a file name into a CSV (glr.paths.printable, copied): a name's undecodable bytes as U+FFFD, where
        # they stopped the CSV with UnicodeEncodeError.
        cells = [escape_cell(printable(c) if isinstance(c, str) else c) for c in cells]
        line = io.StringIO()
        quoting = csv.QUOTE_ALL if any("\r" in c for c in cells if isinstance(c, str)) else csv.QUOTE_MINIMAL
        csv.writer(line, lineterminator="\n", quoting=quoting).writerow(cells)
        if self.file is not None:
            self.file.write((start + line.getvalue()).encode("utf-8", "replace"))  # a lone surrogate in labels.json
        else:
            self.text.write(start + line.getvalue())

    def _rows(self, path, rows, failed=None):
        """A photo's rows: written to the stream at once, or kept in the partial file until the CSV is written."""
        if self.partial is None:
            for row in rows:
                self._write("", row)
        else:
            self.partial.add(str(path), self.stamps.get(str(path)), {"rows": rows, "failed": failed})

    def predicted(self, path, top, seen):
        """The rows of a photo predicted: `top` [(label, score)] best first; `seen` the verdict's (known score,
        unknown?, nearest training photo, its similarity), or None."""
        verdict = [] if seen is None else [six_places(seen[0]), "yes" if seen[1] else "no", seen[2]["id"],
                                           seen[2]["landmark_id"], six_places(min(1.0, max(-1.0, seen[3])))]
        self._rows(path, [[path, rank, label["landmark_id"], label["name"], six_places(score), *verdict, ""]
                          for rank, (label, score) in enumerate(top, 1)])

    def refused(self, path, problem):
        """The row of a photo not predicted, saying why (the message without the name in front)."""
        why = problem[len(path) + 2:] if problem.startswith(f"{path}: ") else problem
        self._rows(path, [[path] + [""] * (len(self.columns) - 2) + [why]], problem)

    def commit(self):
        """Write the CSV from the partial file's rows, in the photos' order, and move it onto its name (as glr.atomic
        does: its data on disk first); the partial file removed; where it went."""
        if self.partial is None:
            (self.file or self.text).flush()
            return "the predictions to standard output"
        folder = os.path.dirname(os.path.abspath(self.target))
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(self.target)}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as self.file:
                self.text = None
                self._write(BOM, self.columns)
                for outcome in self.partial.outcomes(map(str, self.photos)):
                    for row in outcome["rows"]:
                        self._write("", row)
                self.file.flush()
                os.fsync(self.file.fileno())
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; glr's files are meant to be read by others too
            os.replace(tmp, self.target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.partial.remove()
        return os.path.abspath(self.target)

    def keep(self, stopped):
        """Close the partial file, kept for the same command to continue from, and say where it is (one holding no
        photo is removed); the target keeps what it held before. `stopped`: by Ctrl-C (else a crash)."""
        if self.partial is None:
            return
        done = self.partial.done()
        (self.partial.close if done else self.partial.remove)()
        kept = (f"the {done:,} predicted so far are kept in {self.partial.path}: the same command continues from them "
                "(the CSV is written once every photo is predicted)") if done else "no CSV written"
        print((f"stopped after {done:,} of {len(self.photos):,} photos: " if stopped else "note: ") + kept, file=sys.stderr)
'''
