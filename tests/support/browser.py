"""Real headless Chromium for browser tests: Debian's chromium and chromium-driver, nothing
downloaded; pages looked at as a person would, at a phone's and a desktop's width."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

PHONE = (360, 780)
"""A small phone's viewport in CSS pixels."""

DESKTOP = (1366, 900)
"""A common office screen."""


@contextmanager
def chromium(size: tuple[int, int]) -> Iterator[webdriver.Chrome]:
    """A headless Chromium window of ``size`` (width, height), closed on exit."""
    if not (CHROMIUM.exists() and shutil.which(str(CHROMEDRIVER))):
        raise RuntimeError("chromium and chromium-driver are installed by ./bootstrap")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests run as root in CI
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={size[0]},{size[1]}",
    ):
        options.add_argument(argument)
    # a citizen's browser in Vietnam asks for Vietnamese first
    options.add_experimental_option("prefs", {"intl.accept_languages": "vi-VN,vi"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        driver.set_window_size(*size)
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()


def overflows_horizontally(driver: webdriver.Chrome) -> bool:
    """Whether the page is wider than the window (a person would have to scroll sideways)."""
    width = driver.execute_script("return document.documentElement.scrollWidth")
    viewport = driver.execute_script("return window.innerWidth")
    return bool(int(width) > int(viewport) + 1)


def sign_in(driver: webdriver.Chrome, base_url: str, session_key: str) -> None:
    """Give the browser a signed-in session (made by Django's test client's force_login)."""
    driver.get(f"{base_url}/healthz")  # a cookie is set for the site being shown
    driver.add_cookie({"name": "sessionid", "value": session_key, "path": "/"})


def click_and_wait_for_next_page(
    driver: webdriver.Chrome, element: WebElement, timeout: float = 30
) -> None:
    """Click what leads to another page and wait until that page has loaded.

    The old page is marked by a script variable that the next page does not have: waiting
    for the clicked element to go stale asks Chromium about a node of a document being
    replaced, which it may answer with an error instead of "stale".
    """
    driver.execute_script("window.motcuaPageBefore = true")
    element.click()

    def next_page_loaded(d: webdriver.Chrome) -> bool:
        state = d.execute_script(
            "return window.motcuaPageBefore === undefined ? document.readyState : ''"
        )
        return bool(state == "complete")

    WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(next_page_loaded)
