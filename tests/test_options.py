"""Tests of stored options that the options flow would not produce."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.bajie_charging.const import CONF_TIME_ZONE, EVENT_CABINET
from simulator import Simulator

from .event_helpers import ClientFactory, connect_simulator, send, with_timestamp


@pytest.mark.parametrize(
    "zone_name", ["Mars/Olympus_Mons", "../etc/passwd", ""], ids=repr
)
async def test_unusable_zone_falls_back_to_home_zone(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
    zone_name: str,
) -> None:
    """An empty, unknown or invalid zone name reads timestamps in the home zone.

    Such a name can be stored when tzdata drops a zone or options are edited
    by hand.
    """
    await hass.config.async_set_time_zone("Europe/Berlin")
    hass.config_entries.async_update_entry(
        loaded_entry, options={CONF_TIME_ZONE: zone_name}
    )
    await hass.async_block_till_done()
    await connect_simulator(simulator, hass_client_no_auth)
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet_id = simulator.cabinet_ids[0]
    body = simulator.build_push(cabinet_id, "CABINET_ONLINE")

    await send(hass, simulator, with_timestamp(body, "2026-12-04 15:04:05"))

    assert len(bus_events) == 1
    assert bus_events[0].data["timestamp"] == "2026-12-04T15:04:05+01:00"
