"""``python -m smsgate.elasticio.run``: the sailor process the platform starts for a step.

Exit codes: 0 after SIGTERM/SIGINT once the message in hand is finished (or after the shutdown
hook run); 2 when the environment is incomplete or wrong (one line names what); 1 when the
platform or the broker cannot be reached at startup.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from aio_pika.exceptions import AMQPConnectionError

from smsgate.sailor.component import Component
from smsgate.sailor.consumer import Sailor
from smsgate.sailor.errors import EXIT_FAILED, EXIT_OK, SailorError
from smsgate.sailor.ledger import Ledger, MemoryLedger
from smsgate.sailor.platform import PlatformError, StepData, fetch_step
from smsgate.sailor.settings import SailorSettings

log = logging.getLogger("smsgate.elasticio")


LedgerFor = Callable[[Mapping[str, str]], Ledger]
"""How a component gives the runtime a durable ledger (smsgate.sailor.ledger)."""


async def run(env: Mapping[str, str], ledger_for: LedgerFor | None = None) -> int:
    settings = SailorSettings.from_env(env)
    if settings.hook_shutdown:
        log.info("shutdown hook: this component has none")
        return EXIT_OK
    process = Component.load(settings.component_path).process_function(settings.identity.function)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    ledger = ledger_for(env) if ledger_for is not None else MemoryLedger()
    sailor = Sailor(settings, process, StepData(), ledger)
    await sailor.connect()
    try:
        sailor.use_step(
            await fetch_step(settings.api, settings.identity.flow_id, settings.identity.step_id)
        )
    except PlatformError as error:
        await sailor.publish_startup_error(error)
        await sailor.stop()
        raise
    await sailor.start()
    waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(sailor.failed.wait())}
    _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in pending:
        wait.cancel()
    log.info("stopping: finishing %d message(s) in hand", sailor.in_hand)
    await sailor.stop()
    return EXIT_FAILED if sailor.failed.is_set() else EXIT_OK


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, int]], int]:
    """uvloop where it is installed (Linux, the image), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def main(ledger_for: LedgerFor | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return _event_loop_runner()(run(os.environ, ledger_for))
    except SailorError as error:
        print(f"smsgate sailor: {error}", file=sys.stderr)
        return error.exit_code
    except (OSError, AMQPConnectionError) as error:  # the broker does not answer
        print(
            f"smsgate sailor: cannot reach the broker ({type(error).__name__}): "
            "check ELASTICIO_AMQP_URI",
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
