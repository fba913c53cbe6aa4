#!/usr/bin/env bash
# Set up the test suite on a fresh Debian machine; safe to run again.
#   - .venv with requirements-dev.txt (pytest, playwright, the runtime set)
#   - Debian's chromium at /usr/bin/chromium for tests/test_browser.py
# Never `playwright install`: it downloads its own browser; the test drives Debian's.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -r requirements-dev.txt

chromium=/usr/bin/chromium  # where tests/test_browser.py looks for it
if [ ! -x "$chromium" ]; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else sudo="none"; fi
    if [ "$sudo" = none ] || ! { $sudo apt-get update && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }; then
        echo "WARNING: could not install chromium (apt-get install -y chromium as root);" \
             "tests/test_browser.py will be skipped." >&2
    fi
fi
echo "Set up. Run the tests: .venv/bin/python -m pytest"
