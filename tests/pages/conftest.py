"""A phone's browser page per test: a fresh context (no cookies, no cache) of the run's
headless chromium, 390 CSS pixels wide."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import PHONE

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(**PHONE)
    context.set_default_timeout(5000)  # a missing element fails in seconds, not Playwright's 30
    yield await context.new_page()
    await context.close()
