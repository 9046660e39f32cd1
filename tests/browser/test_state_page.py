"""The state page in a real browser: Debian's Chromium, driven by Playwright (no browser download).

Skipped on a developer's machine without Chromium or Playwright (with how to install them);
under CI (CI=true) a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver import MockChatServer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "build" / "state-page.png"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(what: str) -> None:
    message = (
        f"{what} is not installed: apt-get install chromium (Debian's package) and "
        "pip install playwright (no 'playwright install' needed: the tests use /usr/bin/chromium)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing("Chromium")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: MockChatServer) -> Iterator[Any]:
    server.load_scenario("demo")
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(f"{server.url}/_mock/")
    yield tab
    context.close()
    assert errors == []


def test_page_shows_the_demo_groups_and_accounts(page: Any) -> None:
    page.wait_for_selector("[data-convo] h3:has-text('Weekend hikers')")
    text = page.inner_text("body")
    for expected in ("Book club", "Band practice", "alice.test", "Pending requests: erin.test", "locked"):
        assert expected in text
    assert page.locator("[data-convo]").count() == 3


def test_page_shows_direct_convos(page: Any, server: MockChatServer) -> None:
    page.wait_for_selector("[data-convo] h3:has-text('Weekend hikers')")
    page.select_option("#scenario", "direct-requests")
    page.click("#load")
    page.wait_for_selector("[data-convo] h3:has-text('alice.test · bob.test')")
    text = page.inner_text("body")
    assert "Direct:" in text and "Hi Alice, we met at the meetup" in text and "request" in text
    assert page.locator("[data-convo]").count() == 4


@pytest.mark.parametrize("width", [1280, 1700])
def test_latest_calls_fit_their_column_and_reactions_show(browser: Any, server: MockChatServer, width: int) -> None:
    import httpx

    server.load_scenario("demo")
    login = {"identifier": "alice.test", "password": "password"}
    token = httpx.post(f"{server.url}/xrpc/com.atproto.server.createSession", json=login).json()["accessJwt"]
    for _ in range(3):  # long method names and long DIDs in the table
        httpx.get(
            f"{server.url}/xrpc/chat.bsky.convo.getConvoMembers",
            params={"convoId": "nope"},
            headers={"Authorization": f"Bearer {token}"},
        )
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = context.new_page()
    tab.goto(f"{server.url}/_mock/")
    tab.wait_for_selector("#calls tr")
    assert tab.evaluate("document.body.classList.contains('loading')") is False
    # the menu fills from /_mock/scenarios, which may answer after a refresh has drawn the calls
    tab.wait_for_function("document.querySelector('#scenario').value === 'demo'", timeout=10_000)
    assert tab.input_value("#scenario") == "demo", "the menu shows the loaded scenario"
    section = tab.locator("#journal").bounding_box()
    for row in range(tab.locator("#calls tr").count()):
        cell = tab.locator("#calls tr").nth(row).locator("td").nth(3)
        box = cell.bounding_box()
        assert box is not None and section is not None
        assert box["x"] + box["width"] <= section["x"] + section["width"] + 1, "the status column is cut off"
        assert cell.inner_text().strip(), "the status is there to read"
        assert cell.evaluate("c => c.scrollWidth <= c.clientWidth"), "the status is not cut short"
    assert "👍 alice.test" in tab.inner_text("body"), "reactions are shown"
    if width == 1280:
        shot = SCREENSHOT.with_name("state-page-1280.png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    context.close()


def test_page_refreshes_by_itself(page: Any, server: MockChatServer) -> None:
    import httpx

    page.wait_for_selector("[data-convo] h3:has-text('Weekend hikers')")
    login = {"identifier": "bob.test", "password": "password"}
    token = httpx.post(f"{server.url}/xrpc/com.atproto.server.createSession", json=login).json()["accessJwt"]
    convo = server.service.loaded.convos["band"]  # type: ignore[union-attr]
    httpx.post(
        f"{server.url}/xrpc/chat.bsky.convo.sendMessage",
        headers={"Authorization": f"Bearer {token}"},
        json={"convoId": convo, "message": {"text": "sent from elsewhere"}},
    )
    page.wait_for_selector("text=sent from elsewhere", timeout=5000)
    page.wait_for_selector("#journal td:has-text('sendMessage')")


def test_page_shows_moderation(page: Any, server: MockChatServer) -> None:
    import httpx

    page.wait_for_selector("[data-convo] h3:has-text('Weekend hikers')")
    alice = server.service.loaded.actors["alice"].did  # type: ignore[union-attr]
    access = {"actor": alice, "allowAccess": False, "ref": "case-42"}
    assert httpx.post(f"{server.url}/xrpc/chat.bsky.moderation.updateActorAccess", json=access).status_code == 200
    page.wait_for_selector("text=no chat access (case-42)", timeout=5000)
    page.wait_for_selector("text=locked by moderation: owner_suspended", timeout=5000)


def test_switch_scenario_post_a_message_and_see_it(page: Any, server: MockChatServer) -> None:
    page.wait_for_selector("[data-convo] h3:has-text('Weekend hikers')")
    page.select_option("#scenario", "approval-required")
    page.click("#load")
    page.wait_for_selector("[data-convo] h3:has-text('Ask first')")
    assert page.locator("[data-convo]").count() == 1
    group = page.locator("[data-convo]").first
    group.locator("select[name=sender]").select_option(label="bob.test")
    group.locator("input[name=text]").fill("hello from the browser")
    group.locator("button[type=submit]").click()
    page.wait_for_selector("text=hello from the browser")
    convo = server.service.loaded.convos["ask"]  # type: ignore[union-attr]
    assert server.state.convos[convo].messages[-1].text == "hello from the browser"
    # a change made elsewhere shows up by itself
    server.call(lambda s: s.clock.advance(1))
    page.select_option("#scenario", "locked-convo")
    page.click("#load")
    page.wait_for_selector("[data-convo] h3:has-text('Locked room')")
    locked = page.locator("[data-convo]").first
    locked.locator("input[name=text]").fill("refused?")
    locked.locator("button[type=submit]").click()
    page.wait_for_selector("#status:has-text('ConvoLocked')")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


def test_page_works_through_the_url_that_carries_the_admin_token(browser: Any) -> None:
    from mockserver.service import Config

    with MockChatServer(config=Config(admin_token="page-token")) as guarded:
        guarded.load_scenario("demo")
        context = browser.new_context()
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(f"{guarded.url}/_mock/?token=page-token")
        tab.wait_for_selector("[data-convo] h3:has-text('Weekend hikers')")
        tab.goto(f"{guarded.url}/_mock/")  # without it the page says what is missing, and shows nothing
        tab.wait_for_selector("#status.error")
        assert tab.locator("[data-convo]").count() == 0
        context.close()
        assert errors == []
