"""The --out CSV of the exported predict.py (glr.export_script): its predictions as a CSV for people, as glr writes one.

Python source, pasted into predict.py as it is (not a format template). It follows glr.spreadsheet's rule for a
CSV for people (a UTF-8 byte-order mark first, formula-like cells escaped by glr's own `escape_cell`, copied in) and
glr.atomic's for writing (a temporary file beside the target, moved onto it when done), but streams its rows: 10,000
photos are written as they are predicted, not held. It uses what predict.py defines before it: Usage,
HERE, NOTE, EXPORT_FILES, IMAGE_EXTENSIONS, escape_cell and printable with their constants.
"""

CSV_NAME = "predictions.csv"  # what --out FOLDER/ holds, as glr predict's holds submission.csv

SOURCE = r'''def csv_target(out, photos):
    """Where `--out out` writes: a folder (one there, or a name ending in a slash) holds predictions.csv. Usage for a
    name that is a photo's, by its extension or by being one of `photos`: the CSV would be written over it."""
    target = os.path.join(out, CSV_NAME) if out.endswith(("/", os.sep)) or os.path.isdir(out) else out
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
    return target


class PredictionsCsv:
    """The predictions as a CSV for people: one row per photo and rank (a photo not predicted: one row saying why).

    Written into a temporary file beside the target and moved onto it only when every photo is done, so Ctrl-C, a
    crash or a full disk leaves no half-written CSV (an older one stays as it was). `out`: the file's name, or a
    stream for --out - (the standard output, written as it goes)."""

    def __init__(self, out, photos, verdict):
        self.columns = ["photo", "rank", "landmark_id", "name", "score", "problem"]
        if verdict:
            self.columns[5:5] = ["known_score", "not_a_known_landmark", "nearest_training_photo", "nearest_landmark_id",
                                 "similarity"]
        self.target = self.tmp = None
        self.listing_gone = False  # the stdout listing's reader left (`| head`): this CSV is finished all the same
        if not isinstance(out, str):
            self.file = getattr(out, "buffer", None)  # UTF-8 bytes, whatever the console's encoding
            self.text = out if self.file is None else None
        else:
            self.target = csv_target(out, photos)
            folder = os.path.dirname(os.path.abspath(self.target))
            try:
                os.makedirs(folder, exist_ok=True)  # as glr's --out new/
                fd, self.tmp = tempfile.mkstemp(prefix=f".{os.path.basename(self.target)}.", suffix=".tmp", dir=folder)
            except OSError as exc:  # said before any photo is predicted, not after an hour of them
                why = "a file is where its folder must be" if isinstance(exc, (FileExistsError, NotADirectoryError)) \
                    else exc.strerror or exc
                sys.exit(f"predict.py: {self.target}: cannot write the predictions ({why}); choose another file with "
                         "--out, or a folder you can write to")
            self.file, self.text = os.fdopen(fd, "wb"), None
        self._write(BOM, self.columns)

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

    def predicted(self, path, top, seen):
        """The rows of a photo predicted: `top` [(label, score)] best first; `seen` the verdict's (known score,
        unknown?, nearest training photo, its similarity), or None."""
        verdict = [] if seen is None else [round(seen[0], 6), "yes" if seen[1] else "no", seen[2]["id"],
                                           seen[2]["landmark_id"], round(seen[3], 6)]
        for rank, (label, score) in enumerate(top, 1):
            self._write("", [path, rank, label["landmark_id"], label["name"], round(score, 6), *verdict, ""])

    def refused(self, path, problem):
        """The row of a photo not predicted, saying why (the message without the name in front)."""
        why = problem[len(path) + 2:] if problem.startswith(f"{path}: ") else problem
        self._write("", [path] + [""] * (len(self.columns) - 2) + [why])

    def commit(self):
        """Move the finished CSV onto its name (as glr.atomic does: its data on disk first); where it went."""
        if self.tmp is None:
            (self.file or self.text).flush()
            return "the predictions to standard output"
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.chmod(self.tmp, 0o644)  # mkstemp makes 0600; glr's files are meant to be read by others too
        os.replace(self.tmp, self.target)
        return os.path.abspath(self.target)

    def discard(self):
        """Remove the unfinished CSV: the target keeps what it held before."""
        if self.tmp is not None:
            self.file.close()
            Path(self.tmp).unlink(missing_ok=True)
'''
