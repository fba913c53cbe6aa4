"""The command line of the exported predict.py (glr.export_script): its options, usage and exit codes, as glr's.

Python source, pasted into predict.py as it is (not a format template), in two parts. HEAD comes before predict.py
imports anything but the standard library, so `predict.py --help` works wherever the file is, even copied alone or
without its runtime. TAIL is `cli`, which runs `main` and turns Ctrl-C, a closed pipe or a full disk into glr's exit
codes and words rather than a traceback.
HEAD starts with glr predict's --unknown choices (glr.submission.UNKNOWN_POLICIES): any other value is refused, as
glr predict refuses it.
"""

from glr.submission import UNKNOWN_POLICIES

HEAD = "# glr predict's --unknown choices (glr.submission): predict.py ignores the option, refuses other values.\n" \
       f"UNKNOWN_POLICIES = {UNKNOWN_POLICIES!r}\n\n\n" + r'''class Usage(ValueError):
    """Options predict.py cannot take, said in one line (exit 2, as argparse's)."""


# What predict.py takes, for the line refusing anything else. glr predict's options it has no use for say why too:
# each was taken for a photo ("--backend: no such photo", then "tf: no such photo").
TAKES = ("--out FILE.csv (- for the standard output), --top-k N (default 5), -h/--help, then photos and folders "
         "(a photo named -x.jpg: ./-x.jpg, or after --)")
GLR_ONLY = {"--results": "it predicts with the export beside it, not a run of a results folder",
            "--backend": "the export's own runtime runs its model",
            "--similar": "an export with its run's index lists each photo's nearest training photo"}


def options_of(argv):
    """(photos and folders, --out's value or None, the other options given as main's keywords) from `argv`; None for
    -h or --help (unless a file is named so), which were "file not found". Everything after "--" is a photo (as a shell
    user writes it before "-beach.jpg"), and so is a file really named like an option (`predict.py *.jpg` may give
    one); any other option is refused here (Usage), where each was a missing photo and its value another."""
    if any(arg in ("-h", "--help") and not os.path.lexists(arg) for arg in argv):
        return None
    given, out, options, rest = [], None, {}, list(argv)
    while rest:
        arg = rest.pop(0)
        name, equals, value = arg.partition("=")
        if arg == "--":
            return given + rest, out, options
        if name in ("--out", "--top-k"):
            value = value if equals else (rest.pop(0) if rest else None)
        if name == "--out":
            if not value:
                raise Usage("--out needs a file name: --out predictions.csv (or --out - for the standard output)")
            out = value
        elif name == "--top-k":
            options["top_k"] = at_least_one(value)
        elif name == "--unknown" and not os.path.lexists(arg):
            check_unknown(value if equals else (rest[0] if rest else None))
            given.append(arg)  # glr predict's, said to be ignored by main (without_unknown), with its value
        elif not arg.startswith("-") or arg == "-" or os.path.lexists(arg):
            given.append(arg)
        else:
            why = f" (glr predict's; {GLR_ONLY[name]})" if name in GLR_ONLY else ""
            raise Usage(f"unknown option {name}{why}; it takes {TAKES}")
    return given, out, options


def check_unknown(value):
    """Usage for an --unknown value glr predict refuses (argparse's choices, in any case), which was taken for a
    missing photo (exit 1 after every photo was predicted); a file really named so stays a photo, as before."""
    if value and (value.lower() in UNKNOWN_POLICIES or os.path.lexists(value)):
        return
    choices = f"{', '.join(UNKNOWN_POLICIES[:-1])} or {UNKNOWN_POLICIES[-1]}"
    raise Usage(f"--unknown takes {choices} (glr predict's; predict.py ignores it){f', not {value}' if value else ''}")


def at_least_one(value):
    """--top-k's value as glr predict reads it (int_at_least(1)), else Usage saying what to give."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise Usage(f"--top-k needs a whole number of at least 1: --top-k 3{f', not {value}' if value else ''}")
    return number


def asked_for(argv):
    """(photos and folders, --out's value or None) from `argv` (options_of without the other options), or None."""
    return None if (found := options_of(argv)) is None else found[:2]


def usage_code(argv):
    """The exit code of `python predict.py ARGV` when it only asks for the usage (printed here), else None: it needs
    none of the files beside the script nor its runtime, so predict.py --help works wherever the file is."""
    try:
        given = asked_for(argv)
    except Usage as exc:
        print(f"predict.py: {exc}", file=sys.stderr)
        return 2
    if given is not None and given[0]:
        return None
    try:
        print(__doc__, file=sys.stdout if given is None else sys.stderr, flush=True)  # a pipe's buffer: written here
    except BrokenPipeError:  # `predict.py --help | head -3`: as cli() says it, not a traceback
        drop_stdout()
        return 141
    return 0 if given is None else 1


def drop_stdout():
    """What is left of stdout sent to the null device (Python's advice for a closed pipe), so the flush at exit cannot
    fail again; a stdout with no file is left."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
'''

TAIL = r'''def cli(argv):
    """The exit code of `python predict.py ARGS`, as glr's: 0 all predicted, 1 some not, 2 a bad option, 130 Ctrl-C,
    141 the reader of the output went away (`predict.py photos | head`), 1 with a word when the output cannot be
    written (a full disk); those were a traceback."""
    if (code := usage_code(argv)) is not None:
        return code
    given, out, options = options_of(argv)
    try:
        if out != "-":
            return 1 if main(given, out, **options) else 0
        # As glr predict's --out -: the CSV alone on stdout (for `> predictions.csv`, `| gzip`), the listing on stderr.
        table, sys.stdout = sys.stdout, sys.stderr
        try:
            return 1 if main(given, table, **options) else 0
        finally:
            sys.stdout = table
    except Usage as exc:
        print(f"predict.py: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        drop_stdout()
        return 141
    except OSError as exc:  # `> /dev/full`, a full disk: said once, as glr says it, not a traceback
        if exc.filename is not None or exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
            raise
        drop_stdout()
        print(f"predict.py: the output cannot be written: {exc.strerror}", file=sys.stderr)
        return 1

'''
