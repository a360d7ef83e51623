"""Tests of pushes for cabinets that the fleet does not have yet.

Such a push is held while a refresh looks for the cabinet. If the listing
has the cabinet, the push is applied and fired once the cabinet's entities
that take events are there. If not, the push is dropped.
"""

from __future__ import annotations

from homeassistant.components.event import ATTR_EVENT_TYPE
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.bajie_charging.const import DOMAIN, EVENT_CABINET
from custom_components.bajie_charging.coordinator import (
    MAX_HELD_CABINETS,
    MAX_HELD_PUSHES,
)
from simulator import FaultRule, Simulator

from .event_helpers import device_id_of, push, send, state_of

LISTING_PATH = "/cabinet/getAllDevicePage"


async def _settle(hass: HomeAssistant) -> None:
    """Wait for the refresh that a held push requested, and what follows it."""
    await hass.async_block_till_done(wait_background_tasks=True)


async def _refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.coordinator.async_refresh()
    await _settle(hass)


async def test_new_cabinet_push_fired_after_refresh(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """The first push of a cabinet new to the account reaches bus and entity."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet_id = cloud.add_cabinet()

    await push(hass, cloud, cabinet_id, "BATTERY_BORROW_OUT")
    await _settle(hass)

    assert len(bus_events) == 1
    data = bus_events[0].data
    assert data["cabinet_id"] == cabinet_id
    assert data["type"] == "battery_borrow_out"
    assert data["device_id"] == device_id_of(hass, loaded_entry.entry_id, cabinet_id)
    state = state_of(hass, "event", f"{cabinet_id}_event")
    assert state.attributes[ATTR_EVENT_TYPE] == "battery_borrow_out"
    assert state.attributes["order_id"] == data["order_id"]


async def test_held_pushes_wait_for_failed_listing(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """Pushes wait while the listing fails, and the newest ones are applied."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet_id = cloud.add_cabinet()
    cloud.add_fault(FaultRule(path=LISTING_PATH, status=503))
    sent = MAX_HELD_PUSHES + 4
    for signal in range(sent):
        await push(hass, cloud, cabinet_id, "CABINET_STATUS", signal=str(signal))
    await _settle(hass)
    assert bus_events == []

    cloud.clear_faults()
    await _refresh(hass, loaded_entry)

    fired = [event.data["signal"] for event in bus_events]
    assert fired == list(range(sent - MAX_HELD_PUSHES, sent))
    signal = state_of(hass, "sensor", f"{cabinet_id}_signal")
    assert signal.state == str(sent - 1)


async def test_push_for_foreign_cabinet_dropped(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """A push for a cabinet the listing lacks is dropped, even if it joins later."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet_id = cloud.add_cabinet()
    cabinet = cloud.cabinets[cabinet_id]
    body = cloud.build_push(cabinet_id, "CABINET_STATUS")
    cloud.remove_cabinet(cabinet_id)

    await send(hass, cloud, body)
    await _settle(hass)
    cloud.fleet.cabinets[cabinet_id] = cabinet
    await _refresh(hass, loaded_entry)

    assert bus_events == []
    state = state_of(hass, "event", f"{cabinet_id}_event")
    assert state.state == STATE_UNKNOWN


async def test_disabled_event_entities_push_fired_next_refresh(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """Without entities taking events, a held push is fired at the next refresh."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet_id = cloud.add_cabinet()
    registry = er.async_get(hass)
    for platform, unique_id in (
        ("event", f"{cabinet_id}_event"),
        ("sensor", f"{cabinet_id}_last_event"),
    ):
        registry.async_get_or_create(
            platform,
            DOMAIN,
            unique_id,
            config_entry=loaded_entry,
            disabled_by=er.RegistryEntryDisabler.USER,
        )

    await push(hass, cloud, cabinet_id, "CABINET_ONLINE")
    await _settle(hass)
    assert bus_events == []

    await _refresh(hass, loaded_entry)

    assert len(bus_events) == 1
    data = bus_events[0].data
    assert data["type"] == "cabinet_online"
    assert data["device_id"] == device_id_of(hass, loaded_entry.entry_id, cabinet_id)


async def test_held_cabinets_limited(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """Pushes for more unknown cabinets than the limit are dropped at once."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cloud.add_fault(FaultRule(path=LISTING_PATH, status=503))
    cabinet_ids = [cloud.add_cabinet() for _ in range(MAX_HELD_CABINETS + 1)]
    for cabinet_id in cabinet_ids:
        await push(hass, cloud, cabinet_id, "CABINET_ONLINE")
    await _settle(hass)

    cloud.clear_faults()
    await _refresh(hass, loaded_entry)

    fired = [event.data["cabinet_id"] for event in bus_events]
    assert sorted(fired) == sorted(cabinet_ids[:MAX_HELD_CABINETS])
    last = state_of(hass, "event", f"{cabinet_ids[-1]}_event")
    assert last.state == STATE_UNKNOWN
