"""A real headless browser for the pages users open: Debian's chromium driven by Playwright.

Playwright's own browser builds are never downloaded (`playwright install` is not run): the
system chromium is launched by path, with flags that keep it off the network and quiet.
"""

from __future__ import annotations

import shutil

CHROMIUM_NAMES = ("chromium", "chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root, where chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
# A phone: the width of an iPhone 12-15 in CSS pixels, with the meta viewport honoured.
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}


def chromium_path() -> str | None:
    """The system chromium, or None."""
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    return None


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if chromium_path() is None:
        return ("no chromium on PATH (Debian: apt-get install chromium fonts-wqy-zenhei; "
                "./dev test does it when run as root)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None
