"""The mirror lanes as a supervised child of ``serve``.

Lanes run in a process of their own (``hookyard mirror``), so a crash, a leak or a hang
in mirroring never touches ingest or production delivery; ``serve`` only restarts the
child when it exits, with backoff, and stops it when the server stops. The child runs at
a lower CPU priority: when the machine is saturated, ingest keeps its share.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time

from hookyard.logs import log_event

log = logging.getLogger("hookyard.mirror")

MAX_RESTART_DELAY = 30.0
#: A child that ran this long before exiting restarts at once, not after a long backoff.
HEALTHY_RUN_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0


#: How much the child yields the CPU to ingest and delivery (``nice`` increment): under
#: saturation the lane falls behind and skips what is older than ``max_lag`` instead.
NICENESS = 10


class MirrorChild:
    def __init__(self, config_path: str, database: str) -> None:
        self.command = (
            sys.executable,
            "-m",
            "hookyard",
            "mirror",
            "--config",
            config_path,
            "--db",
            database,
            "--nice",
            str(NICENESS),
        )
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="hookyard-mirror-child")

    async def _supervise(self) -> None:
        delay = 1.0
        while not self._stopping:
            started = time.monotonic()
            self.process = await asyncio.create_subprocess_exec(
                *self.command, stdin=asyncio.subprocess.DEVNULL
            )
            code = await self.process.wait()
            if self._stopping:
                return
            if time.monotonic() - started > HEALTHY_RUN_SECONDS:
                delay = 1.0
            log_event(
                log,
                logging.ERROR,
                "mirror lane process exited; restarting",
                code=code,
                restart_in_seconds=delay,
            )
            self.restarts += 1
            await asyncio.sleep(delay)
            delay = min(MAX_RESTART_DELAY, delay * 2)

    async def stop(self) -> None:
        self._stopping = True
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
