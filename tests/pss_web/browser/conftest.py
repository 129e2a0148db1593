"""Browser tests: pss served by waitress on 127.0.0.1 (a free port), over a migrated SQLite file
(``served``) or whatever the test sets up (``serve``), driven through Playwright in Debian's
Chromium (``/usr/bin/chromium``).

Without that browser the tests are skipped, or fail when ``PSS_REQUIRE_BROWSER=1`` is set (CI).
Screenshots of each step go to ``test-artifacts/`` at the top of the repository.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
#: Longest wait for anything on a page; live pages poll every 4 seconds.
WAIT_MS = 12_000


def require_browser(path: str = CHROMIUM) -> None:
    """Skip the test when the browser is missing, or fail it if ``PSS_REQUIRE_BROWSER`` says the
    browser tests must run."""
    if os.path.exists(path):
        return
    if os.environ.get("PSS_REQUIRE_BROWSER", "") not in ("", "0", "false", "no"):
        pytest.fail(f"PSS_REQUIRE_BROWSER is set but {path} is missing")
    pytest.skip(f"{path} is not installed")


@pytest.fixture
def browser_requirement() -> Callable[[str], None]:
    """The check every browser fixture makes first (for testing it)."""
    return require_browser


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file migrated to the newest schema."""
    from pss_testing.database import migrated_sqlite

    return migrated_sqlite(tmp_path / "pss-browser.sqlite")


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Any]], str]]:
    """``serve(settings)``: an app made from ``settings`` on 127.0.0.1 at a free port (waitress,
    in a thread); returns its base URL. Every server is stopped at the end of the test, before
    the fixtures asked for ahead of ``serve`` (a ``committed_engine``, say) are torn down."""
    import waitress

    from pss_web import make_app

    require_browser()
    running: list[tuple[Any, threading.Thread]] = []

    def start(settings: dict[str, Any]) -> str:
        server = waitress.create_server(make_app(settings), host="127.0.0.1", port=0, threads=6)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        return f"http://127.0.0.1:{server.effective_port}"

    yield start
    for server, thread in running:
        server.close()
        thread.join(timeout=5)


@pytest.fixture
def served(sqlite_url: str, pss: Any, serve: Callable[[dict[str, Any]], str]) -> str:
    """The app over a fresh SQLite file on 127.0.0.1 at a free port; its base URL."""
    return serve({"pss.database_url": sqlite_url, "pss.plugins": pss})


@pytest.fixture
def chromium_command() -> tuple[str, list[str]]:
    """The browser and the arguments every browser test starts it with (for a test that
    launches its own, with more arguments)."""
    require_browser()
    return CHROMIUM, list(CHROMIUM_ARGS)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Chromium through Playwright; every request it makes outside 127.0.0.1 is refused."""
    from playwright.sync_api import sync_playwright

    require_browser()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def failed_requests() -> list[str]:
    """Every response of 400 or more, and every request that failed, in any page of the test."""
    return []


@pytest.fixture
def new_page(browser: Any, failed_requests: list[str]) -> Iterator[Callable[..., Any]]:
    """``new_page(phone=True)``: a page in its own browser context (own cookies)."""
    contexts: list[Any] = []

    def on_response(response: Any) -> None:
        if response.status >= 400:
            failed_requests.append(f"{response.status} {response.url}")

    def on_request_failed(request: Any) -> None:
        # A page's own fetch (a live price, a poll) still in flight when the test navigates
        # away is aborted by the browser: that is the test's doing, not a failure of pss.
        if request.failure == "net::ERR_ABORTED" and request.resource_type in {"fetch", "xhr"}:
            return
        failed_requests.append(f"failed {request.url} ({request.failure})")

    def factory(*, phone: bool = False) -> Any:
        options: dict[str, Any] = {"viewport": PHONE if phone else DESKTOP}
        if phone:
            options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        context = browser.new_context(**options)
        context.route("**/*", _local_only)
        context.set_default_timeout(WAIT_MS)
        context.on("response", on_response)
        context.on("requestfailed", on_request_failed)
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()


def _local_only(route: Any) -> None:
    from urllib.parse import urlsplit

    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], None]:
    """``shot(page, "step")`` saves a full-page screenshot under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    prefix = request.node.name.removeprefix("test_")
    count = [0]

    def take(page: Any, step: str) -> None:
        count[0] += 1
        page.screenshot(
            path=str(ARTIFACTS / f"{prefix}-{count[0]:02d}-{step}.png"),
            full_page=True,
            animations="disabled",
        )

    return take
