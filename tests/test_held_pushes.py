"""Tests of pushes for cabinets that the fleet does not have yet.

Such a push is held while a refresh looks for the cabinet. If the listing
has the cabinet, the push is applied and fired once the cabinet's entities
that take events are there, or after a short wait. If not, the push is
dropped.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import json
import logging
from typing import Any

from homeassistant.components.event import ATTR_EVENT_TYPE
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.bajie_charging.api.push import MAX_SLOT
from custom_components.bajie_charging.const import (
    DOMAIN,
    EVENT_CABINET,
    MAX_PUSH_BODY_BYTES,
)
from custom_components.bajie_charging.coordinator import HELD_PUSH_WAIT
from custom_components.bajie_charging.held_pushes import (
    MAX_HELD_BATTERIES,
    MAX_HELD_CABINETS,
    MAX_HELD_PUSHES,
)
from simulator import FaultRule, SimCabinet, Simulator

from .event_helpers import WEBHOOK_PATH, device_id_of, push, send, state_of

LISTING_PATH = "/cabinet/getAllDevicePage"
REFRESH_COOLDOWN_SECONDS = 10
"""Cooldown of the refresh debouncer of Home Assistant's DataUpdateCoordinator."""


async def _settle(hass: HomeAssistant) -> None:
    """Wait for the refresh that a held push requested, and what follows it."""
    await hass.async_block_till_done(wait_background_tasks=True)


async def _refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.coordinator.async_refresh()
    await _settle(hass)


async def _advance(hass: HomeAssistant, seconds: float) -> None:
    """Fire the timers due within `seconds`, then wait for what they start."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await _settle(hass)


def _foreign_push(cloud: Simulator, kind: str) -> tuple[SimCabinet, dict[str, Any]]:
    """Return a new cabinet that the account lacks, and a push body for it.

    Putting the cabinet into `cloud.fleet.cabinets` binds it to the account.
    """
    cabinet_id = cloud.add_cabinet()
    cabinet = cloud.cabinets[cabinet_id]
    body = cloud.build_push(cabinet_id, kind)
    cloud.remove_cabinet(cabinet_id)
    return cabinet, body


def _disable_event_entities(
    hass: HomeAssistant, entry: MockConfigEntry, cabinet_id: str
) -> None:
    """Register the cabinet's event entity and last-event sensor as disabled."""
    registry = er.async_get(hass)
    for platform, unique_id in (
        ("event", f"{cabinet_id}_event"),
        ("sensor", f"{cabinet_id}_last_event"),
    ):
        registry.async_get_or_create(
            platform,
            DOMAIN,
            unique_id,
            config_entry=entry,
            disabled_by=er.RegistryEntryDisabler.USER,
        )


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
    sensor = state_of(hass, "sensor", f"{cabinet_id}_signal")
    assert sensor.state == str(sent - 1)


async def test_push_for_foreign_cabinet_dropped(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """A push for a cabinet the listing lacks is dropped, even if it joins later."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet, body = _foreign_push(cloud, "CABINET_STATUS")
    cabinet_id = cabinet.cabinet_id

    await send(hass, cloud, body)
    await _settle(hass)
    cloud.fleet.cabinets[cabinet_id] = cabinet
    await _refresh(hass, loaded_entry)

    assert bus_events == []
    state = state_of(hass, "event", f"{cabinet_id}_event")
    assert state.state == STATE_UNKNOWN


async def test_disabled_event_entities_push_fired_after_wait(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """Without entities taking events, held pushes wait briefly, then fire.

    The second push arrives after the refresh listed the cabinet, and it is
    applied after the held one.
    """
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet_id = cloud.add_cabinet()
    _disable_event_entities(hass, loaded_entry, cabinet_id)

    await push(hass, cloud, cabinet_id, "CABINET_STATUS", signal="11")
    await _settle(hass)
    assert cabinet_id in loaded_entry.runtime_data.coordinator.data
    await push(hass, cloud, cabinet_id, "CABINET_STATUS", signal="22")
    await _settle(hass)
    assert bus_events == []

    await _advance(hass, HELD_PUSH_WAIT.total_seconds() + 1)

    assert [event.data["signal"] for event in bus_events] == [11, 22]
    data = bus_events[0].data
    assert data["device_id"] == device_id_of(hass, loaded_entry.entry_id, cabinet_id)
    signal = state_of(hass, "sensor", f"{cabinet_id}_signal")
    assert signal.state == "22"


async def test_push_after_failed_refresh_requests_refresh(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """Each held push requests a refresh until one lists the cabinet."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet_id = cloud.add_cabinet()
    cloud.add_fault(FaultRule(path=LISTING_PATH, status=503))
    await push(hass, cloud, cabinet_id, "CABINET_ONLINE")
    await _settle(hass)
    cloud.clear_faults()
    listings_before = cloud.request_count(LISTING_PATH)
    await _advance(hass, REFRESH_COOLDOWN_SECONDS + 1)

    await push(hass, cloud, cabinet_id, "CABINET_STATUS", signal="7")
    await _advance(hass, 2 * REFRESH_COOLDOWN_SECONDS + 2)

    assert cloud.request_count(LISTING_PATH) > listings_before
    fired = [event.data["type"] for event in bus_events]
    assert fired == ["cabinet_online", "cabinet_status"]


async def test_rate_limited_refresh_not_requested(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """After a rate-limited listing, held pushes leave the next poll to wait."""
    cabinet_id = cloud.add_cabinet()
    cloud.add_fault(FaultRule(path=LISTING_PATH, status=429, retry_after=600))
    await push(hass, cloud, cabinet_id, "CABINET_ONLINE")
    await _settle(hass)
    listings_before = cloud.request_count(LISTING_PATH)

    await _advance(hass, REFRESH_COOLDOWN_SECONDS + 1)
    await push(hass, cloud, cabinet_id, "CABINET_STATUS", signal="7")
    await _advance(hass, REFRESH_COOLDOWN_SECONDS + 1)

    assert cloud.request_count(LISTING_PATH) == listings_before


async def test_held_resends_keep_unique_pushes(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """Resends of a held push take no place of their own."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet_id = cloud.add_cabinet()
    cloud.add_fault(FaultRule(path=LISTING_PATH, status=503))
    await push(hass, cloud, cabinet_id, "CABINET_ONLINE")
    status = await push(hass, cloud, cabinet_id, "CABINET_STATUS", signal="9")
    for _ in range(MAX_HELD_PUSHES):
        await send(hass, cloud, status)
    await _settle(hass)

    cloud.clear_faults()
    await _refresh(hass, loaded_entry)

    fired = [event.data["type"] for event in bus_events]
    assert fired == ["cabinet_online", "cabinet_status"]


async def test_held_resend_fired_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """A push resent while held and again after it was applied fires once."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet_id = cloud.add_cabinet()
    cloud.add_fault(FaultRule(path=LISTING_PATH, status=503))
    body = await push(hass, cloud, cabinet_id, "BATTERY_BORROW_OUT")
    await send(hass, cloud, body)
    await _settle(hass)

    cloud.clear_faults()
    await _refresh(hass, loaded_entry)
    await send(hass, cloud, body)

    assert len(bus_events) == 1
    assert bus_events[0].data["order_id"] == body["eventData"]["orderId"]


async def test_push_during_refresh_kept(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """A listing that started before a push does not drop it."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet, body = _foreign_push(cloud, "CABINET_ONLINE")
    cabinet_id = cabinet.cabinet_id
    cloud.add_fault(FaultRule(path=LISTING_PATH, delay=0.5, times=1))
    listings_before = cloud.request_count(LISTING_PATH)

    coordinator = loaded_entry.runtime_data.coordinator
    refresh = hass.async_create_task(coordinator.async_refresh())
    for _ in range(500):
        if cloud.request_count(LISTING_PATH) > listings_before:
            break
        await asyncio.sleep(0.01)
    assert cloud.request_count(LISTING_PATH) > listings_before
    sent = await cloud.send_push(body)
    assert sent is not None
    assert sent.status == 200
    await refresh
    await _settle(hass)
    assert bus_events == []

    cloud.fleet.cabinets[cabinet_id] = cabinet
    await _advance(hass, REFRESH_COOLDOWN_SECONDS + 1)

    assert len(bus_events) == 1
    assert bus_events[0].data["cabinet_id"] == cabinet_id


async def test_unknown_cabinet_flood_refresh_rate(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """Pushes for many unknown cabinets list the fleet once per cooldown."""
    listings_before = cloud.request_count(LISTING_PATH)
    for _ in range(20):
        _, body = _foreign_push(cloud, "CABINET_ONLINE")
        await send(hass, cloud, body)
    await _settle(hass)
    assert cloud.request_count(LISTING_PATH) - listings_before == 1

    await _advance(hass, REFRESH_COOLDOWN_SECONDS + 1)
    assert cloud.request_count(LISTING_PATH) - listings_before == 2

    await _advance(hass, REFRESH_COOLDOWN_SECONDS + 1)
    assert cloud.request_count(LISTING_PATH) - listings_before == 2


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


def _full_status_body(cabinet_id: str, serial: int) -> dict[str, Any]:
    """Return a status report with a battery in every slot up to MAX_SLOT."""
    batteries = [{"slotNum": slot, "vol": serial} for slot in range(1, MAX_SLOT + 1)]
    return {
        "event": "CABINET_STATUS",
        "timestamp": f"2026-01-01 00:00:{serial:02d}",
        "eventData": {"cabinetId": cabinet_id, "batteryList": batteries},
    }


async def test_held_batteries_limited(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    cloud: Simulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Held pushes carry at most MAX_HELD_BATTERIES battery records together."""
    cloud.add_fault(FaultRule(path=LISTING_PATH, status=503))
    client = await hass_client_no_auth()
    cabinet_ids = [cloud.add_cabinet() for _ in range(4)]
    for cabinet_id in cabinet_ids:
        for serial in range(MAX_HELD_PUSHES):
            body = json.dumps(_full_status_body(cabinet_id, serial))
            assert len(body) <= MAX_PUSH_BODY_BYTES
            response = await client.post(WEBHOOK_PATH, data=body)
            assert response.status == 200
    await _settle(hass)
    bus_events = async_capture_events(hass, EVENT_CABINET)

    cloud.clear_faults()
    await _refresh(hass, loaded_entry)

    assert len(bus_events) == MAX_HELD_BATTERIES // MAX_SLOT


async def test_unload_drops_waiting_pushes(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """Unloading the entry stops the wait of held pushes; none fire later."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet_id = cloud.add_cabinet()
    _disable_event_entities(hass, loaded_entry, cabinet_id)
    await push(hass, cloud, cabinet_id, "CABINET_ONLINE")
    await _settle(hass)

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await _advance(hass, HELD_PUSH_WAIT.total_seconds() + 1)

    assert bus_events == []


async def test_held_push_keeps_newer_listing(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """A push held before the listing started is fired but keeps its state."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    cabinet_id = cloud.add_cabinet()
    cloud.add_fault(FaultRule(path=LISTING_PATH, status=503))
    await push(hass, cloud, cabinet_id, "CABINET_STATUS", signal="7")
    await _settle(hass)
    cloud.cabinets[cabinet_id].signal = 20

    cloud.clear_faults()
    await _refresh(hass, loaded_entry)

    assert [event.data["signal"] for event in bus_events] == [7]
    sensor = state_of(hass, "sensor", f"{cabinet_id}_signal")
    assert sensor.state == "20"


async def test_oldest_held_push_drop_logged(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    cloud: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The oldest held push dropped past MAX_HELD_PUSHES is a warning."""
    cabinet_id = cloud.add_cabinet()
    cloud.add_fault(FaultRule(path=LISTING_PATH, status=503))
    for signal in range(MAX_HELD_PUSHES + 2):
        await push(hass, cloud, cabinet_id, "CABINET_STATUS", signal=str(signal))
    await _settle(hass)

    warnings = [
        record
        for record in caplog.records
        if record.levelno == logging.WARNING and "Dropped push" in record.message
    ]
    assert len(warnings) == 1
    assert cabinet_id in warnings[0].message
    assert "too_many_pushes" in warnings[0].message
