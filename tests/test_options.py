"""Tests of stored options that the options flow would not produce."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.bajie_charging.const import (
    CONF_POLL_INTERVAL,
    CONF_PUSH_POLL_INTERVAL,
    CONF_TIME_ZONE,
    DOMAIN,
    EVENT_CABINET,
)
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


async def _use_berlin_time(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
) -> None:
    """Read push times in Berlin time, poll hourly and connect the simulator.

    With hourly polls, no poll runs between the pushes of a test.
    """
    hass.config_entries.async_update_entry(
        entry,
        options={
            CONF_TIME_ZONE: "Europe/Berlin",
            CONF_POLL_INTERVAL: 60,
            CONF_PUSH_POLL_INTERVAL: 60,
        },
    )
    await hass.async_block_till_done()
    await connect_simulator(simulator, hass_client_no_auth)


async def _send_status_at(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    *,
    arrival: str,
    timestamp: str,
    rentable: int,
) -> None:
    """Send a status report of the first cabinet, dated timestamp, at arrival."""
    freezer.move_to(arrival)
    body = simulator.build_push(
        simulator.cabinet_ids[0], "CABINET_STATUS", rentableCount=rentable
    )
    await send(hass, simulator, with_timestamp(body, timestamp))


def _batteries_to_rent(hass: HomeAssistant, simulator: Simulator) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{simulator.cabinet_ids[0]}_batteries_to_rent"
    )
    assert entity_id is not None
    return hass.states.get(entity_id).state


async def test_repeated_hour_read_near_arrival(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """In the hour a clock turns back, a push is dated nearest its arrival.

    Berlin turned its clocks from 03:00 summer time back to 02:00 on
    2026-10-25, so 02:10 came twice: at 00:10 and at 01:10 UTC.
    """
    await _use_berlin_time(hass, loaded_entry, simulator, hass_client_no_auth)
    bus_events = async_capture_events(hass, EVENT_CABINET)
    await _send_status_at(
        hass,
        simulator,
        freezer,
        arrival="2026-10-25 00:50:30+00:00",
        timestamp="2026-10-25 02:50:00",
        rentable=1,
    )

    await _send_status_at(
        hass,
        simulator,
        freezer,
        arrival="2026-10-25 01:10:30+00:00",
        timestamp="2026-10-25 02:10:00",
        rentable=2,
    )

    assert [event.data["timestamp"] for event in bus_events] == [
        "2026-10-25T02:50:00+02:00",
        "2026-10-25T02:10:00+01:00",
    ]
    assert _batteries_to_rent(hass, simulator) == "2"


async def test_repeated_hour_online_time_near_event(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A time in the push's data is read like its timestamp in a repeated hour."""
    await _use_berlin_time(hass, loaded_entry, simulator, hass_client_no_auth)
    bus_events = async_capture_events(hass, EVENT_CABINET)
    freezer.move_to("2026-10-25 01:10:30+00:00")
    body = simulator.build_push(
        simulator.cabinet_ids[0], "CABINET_ONLINE", onlineTime="2026-10-25 02:09:00"
    )

    await send(hass, simulator, with_timestamp(body, "2026-10-25 02:10:00"))

    assert bus_events[0].data["timestamp"] == "2026-10-25T02:10:00+01:00"
    assert bus_events[0].data["online_time"] == "2026-10-25T02:09:00+01:00"


async def test_repeated_hour_late_push_stays_past(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A late push from the first pass of a repeated hour is not read as future."""
    await _use_berlin_time(hass, loaded_entry, simulator, hass_client_no_auth)
    bus_events = async_capture_events(hass, EVENT_CABINET)
    await _send_status_at(
        hass,
        simulator,
        freezer,
        arrival="2026-10-25 01:06:00+00:00",
        timestamp="2026-10-25 02:05:00",
        rentable=2,
    )

    # Sent at 00:40 UTC, the first 02:40, and 35 minutes late.
    await _send_status_at(
        hass,
        simulator,
        freezer,
        arrival="2026-10-25 01:15:00+00:00",
        timestamp="2026-10-25 02:40:00",
        rentable=1,
    )

    assert bus_events[1].data["timestamp"] == "2026-10-25T02:40:00+02:00"
    assert _batteries_to_rent(hass, simulator) == "2"
