"""Move Home Assistant's clock forward until a condition holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

STEP_SECONDS = 0.5
# Real time given to loopback I/O between two steps, so requests started by a
# fired timer reach the simulator before the next step.
IO_PAUSE_SECONDS = 0.01


async def advance_until(
    hass: HomeAssistant, condition: Callable[[], bool], *, limit: float
) -> float:
    """Fire timers step by step until condition() is true; return the seconds.

    Each step fires the timers due within the returned number of seconds from
    the call: the event loop's timers, aiohttp's request timeouts and Home
    Assistant's setup retries included. A timer created during the call
    counts from the real time of its creation, so it fires early, and the
    returned seconds are not the sum of several consecutive waits. Raise
    AssertionError when condition() is still false after `limit` seconds.
    """
    start = dt_util.utcnow()
    elapsed = 0.0
    while not condition():
        if elapsed >= limit:
            raise AssertionError(f"condition still false after {limit} s")
        elapsed += STEP_SECONDS
        async_fire_time_changed(hass, start + timedelta(seconds=elapsed))
        await asyncio.sleep(IO_PAUSE_SECONDS)
    return elapsed
