"""A real headless browser for the tests that look at what people see: Chromium from Debian's
packages, driven by Selenium through /usr/bin/chromedriver (the HTML report, the HTML e-mail).

Without Chromium those tests are skipped, or fail when CARTNUDGE_REQUIRE_REAL_DBS=1 (CI:
``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,2000",
)


@contextmanager
def chromium() -> Iterator[Any]:
    """A Selenium driver of a fresh headless Chromium (its own profile, removed after), or a
    skip (a failure under CARTNUDGE_REQUIRE_REAL_DBS=1) when Chromium is not installed."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        message = (
            f"no {', '.join(missing)}: apt-get install chromium chromium-driver (.ci/run does)"
        )
        if os.environ.get("CARTNUDGE_REQUIRE_REAL_DBS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="cartnudge-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
