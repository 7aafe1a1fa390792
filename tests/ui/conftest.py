"""A real browser (Debian's Chromium driven by Playwright) against the workbench served by a
real uvicorn server; one browser and one signed-in context per module, to stay quick."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> None:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip(
            "Debian's Chromium is not installed (/usr/bin/chromium); `apt-get install -y "
            "chromium` (.ci/run does it)",
            allow_module_level=True,
        )
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")


@dataclass
class Workbench:
    url: str
    store_url: str
    organization: str
    key: str
    reports: Path
    api: httpx.Client

    def ui(self, path: str) -> str:
        return f"{self.url}/ui{path}"


@pytest.fixture(scope="module")
def workbench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbench]:
    from api.keys import create_api_key
    from api.settings import ApiSettings
    from catalog.db import session_scope
    from ui.app import create_app

    tmp = tmp_path_factory.mktemp("workbench")
    store_url = f"sqlite:///{tmp / 'store.db'}"
    server = LiveServer(create_app(ApiSettings(store_url=store_url, home=tmp / "home"))).start()
    with session_scope(store_url) as session:
        key = create_api_key(session, organization="acme", name="browser").token
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"})
    yield Workbench(server.url, store_url, "acme", key, tmp / "reports", client)
    client.close()
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser, workbench: Workbench) -> Iterator[object]:
    """A page signed in as reviewer 'Alice' through the sign-in form."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(workbench.ui("/"))
    assert "/ui/login" in page.url
    page.fill("input[name=reviewer]", "Alice")
    page.fill("input[name=api_key]", workbench.key)
    page.click("button[type=submit]")
    page.wait_for_url(workbench.ui("/"))
    yield page
    context.close()
