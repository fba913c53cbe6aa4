"""Debian's chromium driven by Playwright, for the browser tests: skipped when either is missing.

Set up with scripts/setup-tests.sh (playwright from PyPI, chromium from Debian). Never run `playwright install`:
it downloads its own browser. A test module takes the `browser` fixture with
`from chromium_browser import browser, sync_api  # noqa: F401`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: run scripts/setup-tests.sh (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not importable: run scripts/setup-tests.sh",
                               exc_type=ImportError)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for the module's tests."""
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
