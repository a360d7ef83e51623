"""Tests of how many unknown push kinds the integration remembers and logs."""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.bajie_charging.const import EVENT_CABINET
from custom_components.bajie_charging.coordinator import MAX_LOGGED_UNKNOWN_KINDS
from simulator import Simulator

from .event_helpers import ClientFactory, connect_simulator, push


async def test_unknown_kind_logs_are_capped(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past the cap, new unknown kinds still fire events but are not logged."""
    caplog.set_level(logging.DEBUG, logger="custom_components.bajie_charging")
    await connect_simulator(simulator, hass_client_no_auth)
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet_id = simulator.cabinet_ids[0]
    kinds = [f"NEW_KIND_{number}" for number in range(MAX_LOGGED_UNKNOWN_KINDS + 2)]

    for kind in kinds:
        await push(hass, simulator, cabinet_id, kind)

    logged = [
        record.getMessage()
        for record in caplog.records
        if record.getMessage().startswith("Push of unknown kind")
    ]
    assert len(logged) == MAX_LOGGED_UNKNOWN_KINDS
    assert kinds[-1] not in " ".join(logged)
    assert len(bus_events) == len(kinds)
    assert {event.data["type"] for event in bus_events} == {"unknown"}
