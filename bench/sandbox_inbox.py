"""The sandbox as a product (issue 14): SMS accepted per second by ``smsgate sandbox`` while
its inbox page is open in Debian's chromium and following every change live, and the inbox
page's first render with 100,000 messages stored.

The sandbox runs in its own process, keeping its state in SQLite as ``smsgate sandbox`` does
by default; the sends come from this one (AllMySMS in batches of 100, Messangi one SMS per
request, pipelined); the browser is a third. Then the sandbox is stopped and started again
on its kept state: how long it takes to answer, and the first render again. Run alone:
``python bench/sandbox_inbox.py``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Final

import httpx
from playwright.sync_api import sync_playwright

from smsgate.gateway import Gateway
from smsgate.sandbox.server import SandboxProcess

CHROMIUM: Final = "/usr/bin/chromium"
BATCHED: Final = 20_000
SINGLE: Final = 5_000
STORED: Final = 100_000


def _rate(dsn: str, count: int, first: int) -> float:
    numbers = [f"+336{first + n:08d}" for n in range(count)]
    with Gateway.from_dsn(dsn, env={}) as gateway:
        wall = time.perf_counter()
        report = gateway.send(numbers, "Inbox benchmark", sender="ACME")
        wall = time.perf_counter() - wall
    assert report.accepted == count, report.status
    return count / wall


def _first_render(url: str, runs: int = 5) -> float:
    """The page and its first page of messages, as the browser asks for them: the best of
    ``runs`` (milliseconds, over loopback: the server's time and little else)."""
    best = float("inf")
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(runs):
            started = time.perf_counter()
            client.get("/").raise_for_status()
            client.get("/sandbox/assets/app.js").raise_for_status()
            client.get(
                "/sandbox/messages", params={"limit": 50, "order": "newest"}
            ).raise_for_status()
            best = min(best, (time.perf_counter() - started) * 1000)
    return best


def main() -> None:
    print("\n## The sandbox with its inbox page open (chromium, live updates)")
    credits = 15 * (BATCHED + STORED + 10_000)
    accounts = [f"bench:bench:{credits}"]
    state = str(Path(tempfile.mkdtemp(prefix="smsgate-bench-")) / "sandbox.db")
    with SandboxProcess(accounts, state=state) as sandbox, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(sandbox.url)
        page.get_by_text("live", exact=True).wait_for()
        batched = _rate(
            sandbox.dsn_for("allmysms", login="bench", api_key="bench", batch_size="100"),
            BATCHED,
            0,
        )
        single = _rate(sandbox.messangi_dsn(), SINGLE, BATCHED)
        page.locator("#messages tbody tr").first.wait_for()
        shown = page.inner_text("#range")
        browser.close()
        print(
            f"AllMySMS, batches of 100: {batched:,.0f} SMS/s "
            f"({'meets' if batched >= 2000 else 'MISSES'} the >= 2,000/s target); "
            f"Messangi, single sends: {single:,.0f} SMS/s "
            f"({'meets' if single >= 1000 else 'MISSES'} the >= 1,000/s target); "
            f"the page showed {shown!r}"
        )
        more = STORED - BATCHED - SINGLE
        _rate(sandbox.dsn_for("allmysms", login="bench", api_key="bench"), more, BATCHED + SINGLE)
        stored = httpx.get(f"{sandbox.url}/sandbox/messages", params={"limit": 0}).json()["total"]
        render = _first_render(sandbox.url)
        print(
            f"first render with {stored:,} messages stored: {render:.0f} ms "
            f"({'meets' if render <= 300 else 'MISSES'} the <= 300 ms target)"
        )
    started = time.perf_counter()
    with SandboxProcess(accounts, state=state) as sandbox:
        ready = time.perf_counter() - started
        kept = httpx.get(f"{sandbox.url}/sandbox/messages", params={"limit": 0}).json()["total"]
        render = _first_render(sandbox.url)
    size = Path(state).stat().st_size / 1e6
    print(
        f"started again on its kept state ({kept:,} messages, {size:.0f} MB): answering after "
        f"{ready:.1f} s; first render {render:.0f} ms"
    )


if __name__ == "__main__":
    main()
