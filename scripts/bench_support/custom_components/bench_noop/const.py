"""Constants shared by the benchmark helper and its entity platforms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.util.hass_dict import HassKey

if TYPE_CHECKING:
    from . import BenchCounters

DOMAIN = "bench_noop"
DATA_COUNTERS: HassKey[BenchCounters] = HassKey(DOMAIN)
"""The helper's counters, which also own the entities that its platforms add."""
