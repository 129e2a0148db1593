"""Scanning a slip with the camera in a real browser: Chromium's fake camera plays a video of a
printed slip's QR code (made here from the player's code with segno, written as Y4M frames), the
desk presses Scan beside the search field, and the field fills with the player's number."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import segno

from pss_core import db
from pss_core.demo import create_demo

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 640, 480
#: Frames in the video; Chromium plays it in a loop.
FRAMES = 10


def write_y4m(path: Path, text: str) -> None:
    """A grey video of ``text``'s QR code, large and centred on white with its quiet zone, as
    Y4M (4:2:0): every frame the same, like a slip held still in front of the camera."""
    qr = segno.make(text, error="m", micro=False)
    modules = qr.symbol_size(scale=1, border=4)[0]
    scale = min(WIDTH, HEIGHT) * 9 // 10 // modules
    rows = [
        bytes(0 if dark else 255 for dark in row for _ in range(scale))
        for row in qr.matrix_iter(scale=1, border=4)
        for _ in range(scale)
    ]
    size = len(rows)
    left, top = (WIDTH - size) // 2, (HEIGHT - size) // 2
    luma = bytearray(b"\xff" * (WIDTH * HEIGHT))
    for y, row in enumerate(rows):
        start = (top + y) * WIDTH + left
        luma[start : start + size] = row
    chroma = b"\x80" * (WIDTH // 2 * HEIGHT // 2)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(FRAMES):
            out.write(frame)


@pytest.fixture
def camera_browser(
    tmp_path: Path,
    chromium_command: tuple[str, list[str]],
) -> Iterator[Callable[[str], Any]]:
    """``launch(text)``: Chromium whose camera shows ``text``'s QR code."""
    from playwright.sync_api import sync_playwright

    executable, args = chromium_command
    with sync_playwright() as p:
        launched: list[Any] = []

        def launch(text: str) -> Any:
            video = tmp_path / "slip.y4m"
            write_y4m(video, text)
            browser = p.chromium.launch(
                executable_path=executable,
                args=[
                    *args,
                    "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-video-capture={video}",
                    "--use-fake-ui-for-media-stream",
                ],
            )
            launched.append(browser)
            return browser

        yield launch
        for browser in launched:
            browser.close()


def test_the_camera_reads_a_slip_into_the_desk_search(
    sqlite_url: str,
    pss: Any,
    serve: Callable[[dict[str, Any]], str],
    camera_browser: Callable[[str], Any],
    shot: Callable[[Any, str], None],
) -> None:
    from playwright.sync_api import expect

    engine = db.make_engine(sqlite_url)
    with db.session_scope(engine) as session:
        create_demo(session, pss)
    engine.dispose()
    base = serve({"pss.database_url": sqlite_url, "pss.plugins": pss})
    # What a slip's QR code holds: the address of the player's page, ending in the number.
    browser = camera_browser(f"{base}/events/demo/players/105/")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["camera"], origin=base)
    context.set_default_timeout(20_000)
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(base) else route.abort(),
    )
    page = context.new_page()
    page.goto(f"{base}/events/demo/login")
    page.fill("#f-username", "desk")
    page.fill("#f-password", "desk-pass")
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()
    page.goto(f"{base}/events/demo/desk")
    search = page.locator("#q")
    expect(search).to_have_value("")
    page.get_by_role("button", name="Scan a player's QR code with the camera").click()
    expect(search).to_have_value("105")
    expect(search).to_have_attribute("data-scanned", "105")
    expect(page.locator(".scan-panel")).to_be_hidden()
    shot(page, "scanned")
    context.close()
