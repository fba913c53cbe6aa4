"""`python -m glr`: see glr/cli.py."""

import sys


def _start() -> int:
    try:
        from glr.cli import main
    except KeyboardInterrupt:  # Ctrl-C in the second or two of imports: one line, not an import traceback
        print("interrupted", file=sys.stderr)
        return 130
    return main()


sys.exit(_start())
