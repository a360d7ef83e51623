"""Tests of state writes per push and of the enabled-entity budget."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
import re
from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.bajie_charging.api import Cabinet
from custom_components.bajie_charging.const import DOMAIN
from custom_components.bajie_charging.entity import is_large_fleet
from simulator import Simulator

from .conftest import PASSWORD, USERNAME, WEBHOOK_ID, make_config_entry


def _fleet(cabinets: int, slots: int) -> dict[str, Cabinet]:
    return {
        f"C{index}": Cabinet(cabinet_id=f"C{index}", total_slots=slots)
        for index in range(cabinets)
    }


def test_large_fleet_threshold() -> None:
    """Fleets whose full entity set passes 9,000 count as large."""
    # 11 entities plus 8 buttons per cabinet, plus the account's sensor.
    assert is_large_fleet(_fleet(473, 8)) is False
    assert is_large_fleet(_fleet(474, 8)) is True
    assert is_large_fleet(_fleet(152, 48)) is False
    assert is_large_fleet(_fleet(153, 48)) is True


async def test_small_fleet_enables_all_entities(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """In a small fleet only the per-slot sensors start disabled."""
    entries = er.async_entries_for_config_entry(
        er.async_get(hass), loaded_entry.entry_id
    )
    disabled = [entry.unique_id for entry in entries if entry.disabled]

    assert disabled
    assert all(re.search(r"_slot_\d+_(charge|fault)$", uid) for uid in disabled)
    assert any(entry.domain == "button" and not entry.disabled for entry in entries)


async def test_large_fleet_enables_core_entities_only(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """A fleet past the budget enables online, counters and the event only."""
    # 750 cabinets of one slot: 12 entities each would be enabled in a small
    # fleet, 9,001 with the account's sensor.
    simulator = Simulator(
        cabinets=750, slots=1, username=USERNAME, password=PASSWORD, seed=3
    )
    await simulator.start(host="127.0.0.1", port=0)
    try:
        entry = make_config_entry(simulator)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()

        entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        enabled = Counter(
            re.sub(r"^BJX\d+_", "", item.unique_id)
            for item in entries
            if not item.disabled
        )
        assert enabled == {
            "online": 750,
            "batteries_to_rent": 750,
            "free_slots": 750,
            "event": 750,
            f"{entry.entry_id}_update_mode": 1,
        }
        assert len(entries) == 750 * 14 + 1
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await simulator.stop()


def _record_writes(hass: HomeAssistant) -> list[str]:
    """Return a list that collects every entity written from now on."""
    written: list[str] = []

    @callback
    def record(event: Event[Any]) -> None:
        written.append(event.data["entity_id"])

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    # Home Assistant requires a filter on this event; this one keeps them all.
    hass.bus.async_listen(
        EVENT_STATE_REPORTED, record, event_filter=callback(lambda data: True)
    )
    return written


def _keys(hass: HomeAssistant, cabinet_id: str, written: list[str]) -> list[str]:
    """Return the unique ids of written entities, without the cabinet prefix."""
    registry = er.async_get(hass)
    entries = [registry.async_get(entity_id) for entity_id in written]
    assert all(entry is not None and entry.platform == DOMAIN for entry in entries)
    return sorted(
        entry.unique_id.removeprefix(f"{cabinet_id}_")
        for entry in entries
        if entry is not None
    )


async def test_first_push_writes_only_changes(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The first push after set-up writes no entity that it left alone."""
    cabinet_id = simulator.cabinet_ids[0]
    signal_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{cabinet_id}_signal"
    )
    assert signal_id is not None
    signal = hass.states.get(signal_id)
    assert signal is not None
    new_signal = 5 if signal.state != "5" else 6
    body = simulator.build_push(cabinet_id, "CABINET_STATUS", signal=new_signal)
    client = await hass_client_no_auth()

    written = _record_writes(hass)
    unchanged: list[str] = []
    hass.bus.async_listen(
        EVENT_STATE_REPORTED,
        callback(lambda event: unchanged.append(event.data["entity_id"])),
        event_filter=callback(lambda data: True),
    )
    response = await client.post(f"/api/webhook/{WEBHOOK_ID}", json=body)
    await hass.async_block_till_done()

    assert response.status == 200
    assert "signal" in _keys(hass, cabinet_id, written)
    assert unchanged == []


async def test_repeated_status_writes_only_changes(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A later status push with known values writes only the event entities."""
    cabinet_id = simulator.cabinet_ids[0]
    client = await hass_client_no_auth()
    first = simulator.build_push(cabinet_id, "CABINET_STATUS")
    await client.post(f"/api/webhook/{WEBHOOK_ID}", json=first)
    await hass.async_block_till_done()

    written = _record_writes(hass)
    sent = datetime.strptime(first["timestamp"], "%Y-%m-%d %H:%M:%S")
    later = (sent + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
    second = {**first, "timestamp": later}
    response = await client.post(f"/api/webhook/{WEBHOOK_ID}", json=second)
    await hass.async_block_till_done()

    assert response.status == 200
    assert _keys(hass, cabinet_id, written) == ["event", "last_event"]


async def test_unchanged_poll_writes_nothing(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A poll that finds the fleet as it was writes no entity."""
    coordinator = loaded_entry.runtime_data.coordinator
    written = _record_writes(hass)

    await coordinator.async_refresh()
    await hass.async_block_till_done()

    assert coordinator.last_update_success
    assert written == []


async def test_poll_writes_only_changed_cabinet(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A poll writes only the entities of the cabinet whose data changed."""
    coordinator = loaded_entry.runtime_data.coordinator
    cabinet_id = simulator.cabinet_ids[1]
    simulator.set_online(cabinet_id, False)
    written = _record_writes(hass)

    await coordinator.async_refresh()
    await hass.async_block_till_done()

    assert _keys(hass, cabinet_id, written) == ["online"]
