"""`python -m glr`: see glr/cli.py."""

import sys

from glr.cli import main

sys.exit(main())
