"""The sandbox's inbox page in a real browser (Debian's chromium, driven by Playwright): the
list follows the inbox live, search, a message opened, "deliver" pressed, a reply sent."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from smsgate.gateway import Gateway
from smsgate.sandbox.server import BackgroundSandbox
from tests.conftest import FAST_RETRY

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail("Debian's chromium is not installed: run make test (it installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def send(dsn: str, number: str, text: str) -> None:
    with Gateway.from_dsn(dsn, retry=FAST_RETRY, env={}) as gateway:
        assert gateway.send(number, text, sender="Acme").accepted == 1


def test_the_inbox_page_follows_sends_live_and_acts_as_the_handset(
    sandbox: BackgroundSandbox, browser: Browser
) -> None:
    # no automatic receipt while the page is tested, from any provider (on a slow machine
    # the others' came before "deliver" was checked): "deliver" is the button's to give
    sandbox.state.set_receipt_delay(600)
    settings = {"replies_url": None}
    httpx.post(f"{sandbox.url}/sandbox/allmysms/settings", json=settings).raise_for_status()
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(sandbox.url)
    page.get_by_text("live", exact=True).wait_for()

    # each provider's SMS appears without a reload
    send(sandbox.dsn(), "+33612345678", "Bonjour from AllMySMS")
    send(sandbox.messangi_dsn(), "+33612345679", "Hello from Messangi")
    send(sandbox.smsworks_dsn(), "+447700900123", "Hello from The SMS Works 😀")
    rows = page.locator("#messages tbody tr")
    rows.filter(has_text="The SMS Works").wait_for()
    assert rows.count() == 3
    assert "36180" in rows.filter(has_text="Bonjour").inner_text()  # what the handset shows

    # search
    page.fill("#q", "messangi")
    page.wait_for_function("document.querySelectorAll('#messages tbody tr').length === 1")
    page.fill("#q", "")
    page.wait_for_function("document.querySelectorAll('#messages tbody tr').length === 3")

    # a message opened: its breakdown; the emoji forced UCS-2
    rows.filter(has_text="The SMS Works").click()
    page.locator("#detail .ucs2").wait_for()
    assert "UCS-2" in page.inner_text("#detail")

    # deliver, from the keyboard
    rows.filter(has_text="Bonjour").focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Deliver").click()
    page.locator("#detail .current.status-delivered").wait_for()
    rows.filter(has_text="delivered").wait_for()  # the list follows too

    # a reply, as the recipient
    page.fill("#detail input[name=reply]", "STOP")
    page.get_by_role("button", name="Send reply").click()
    page.get_by_text("reply sent").wait_for()
    pulls = httpx.get(
        f"{sandbox.url}/http/9.0/getPulls", params={"login": "demo", "apiKey": "demo"}
    )
    assert "STOP" in pulls.text

    # the chaos panel sets the rules, and the accounts view shows the calls made
    page.locator("#chaos-panel summary").click()
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    page.fill("#chaos-spec", "messangi.send:503@50%")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("in force: messangi.send:503@50%").wait_for()
    page.wait_for_timeout(300)  # any second POST would be out by now
    assert [url for url in posted if url.endswith("/sandbox/chaos")] == [
        f"{sandbox.url}/sandbox/chaos"
    ]  # once, however many live refreshes came before
    assert httpx.get(f"{sandbox.url}/sandbox/chaos").json()["spec"] == "messangi.send:503@50%"
    page.locator("#accounts-panel summary").click()
    page.locator("#accounts tbody tr", has_text="sendSms").first.wait_for()

    # readable on a phone-sized screen: nothing wider than the screen
    page.set_viewport_size({"width": 375, "height": 740})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1
    page.close()
