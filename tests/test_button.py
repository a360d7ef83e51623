"""Tests of the eject buttons against the simulated cloud."""

from __future__ import annotations

import asyncio

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bajie_charging.const import DOMAIN
from simulator import FaultRule, Simulator

EJECT_PATH = "/cabinet/ejectByRepair"


def _button(hass: HomeAssistant, cabinet_id: str, slot: int) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        BUTTON_DOMAIN, DOMAIN, f"{cabinet_id}_eject_slot_{slot}"
    )
    assert entity_id is not None
    return entity_id


def _slot_with_battery(simulator: Simulator, cabinet_id: str) -> int:
    slots = simulator.cabinets[cabinet_id].slots
    return next(slot for slot, battery in sorted(slots.items()) if battery)


def _empty_slot(simulator: Simulator, cabinet_id: str) -> int:
    slots = simulator.cabinets[cabinet_id].slots
    return next(slot for slot, battery in sorted(slots.items()) if not battery)


async def _press(hass: HomeAssistant, entity_id: str) -> None:
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )


async def test_one_button_per_slot(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Each cabinet has buttons for slots 1 to 8 and none for slot 0."""
    registry = er.async_get(hass)
    cabinet_id = simulator.cabinet_ids[0]
    unique_ids = {
        entry.unique_id
        for entry in er.async_entries_for_config_entry(registry, loaded_entry.entry_id)
        if entry.domain == BUTTON_DOMAIN and entry.unique_id.startswith(cabinet_id)
    }
    assert unique_ids == {f"{cabinet_id}_eject_slot_{slot}" for slot in range(1, 9)}


async def test_press_ejects_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A press sends one eject for that slot and the battery leaves."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _slot_with_battery(simulator, cabinet_id)
    simulator.clear_requests()

    await _press(hass, _button(hass, cabinet_id, slot))

    requests = [r for r in simulator.requests if r.path == EJECT_PATH]
    assert len(requests) == 1
    assert requests[0].query == {"cabinetid": cabinet_id, "slotNum": str(slot)}
    assert simulator.cabinets[cabinet_id].slots[slot] is None
    assert simulator.forbidden_slot_requests == 0


async def test_rejected_eject_raises_and_is_not_retried(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """The cloud's refusal reaches the user; nothing is resent or changed."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _empty_slot(simulator, cabinet_id)
    coordinator = loaded_entry.runtime_data.coordinator
    before = coordinator.data[cabinet_id]
    simulator.clear_requests()

    with pytest.raises(HomeAssistantError) as error:
        await _press(hass, _button(hass, cabinet_id, slot))

    assert error.value.translation_key == "eject_rejected"
    assert simulator.request_count(EJECT_PATH) == 1
    assert coordinator.data[cabinet_id] == before


async def test_timeout_reports_unknown_result(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """No reply after the eject was sent is reported, never resent."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _slot_with_battery(simulator, cabinet_id)
    simulator.add_fault(FaultRule(path=EJECT_PATH, drop_after_action=True))
    simulator.clear_requests()

    with pytest.raises(HomeAssistantError) as error:
        await _press(hass, _button(hass, cabinet_id, slot))

    assert error.value.translation_key == "eject_result_unknown"
    assert simulator.request_count(EJECT_PATH) == 1


async def test_double_press_sends_one_request(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Two parallel presses on one slot send one eject."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _slot_with_battery(simulator, cabinet_id)
    entity_id = _button(hass, cabinet_id, slot)
    simulator.add_fault(FaultRule(path=EJECT_PATH, delay=0.2, times=1))
    simulator.clear_requests()

    results = await asyncio.gather(
        _press(hass, entity_id), _press(hass, entity_id), return_exceptions=True
    )

    errors = [r for r in results if isinstance(r, HomeAssistantError)]
    assert len(errors) == 1
    assert errors[0].translation_key == "eject_in_progress"
    assert simulator.request_count(EJECT_PATH) == 1


async def test_press_right_after_success_is_rejected(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A second press just after an accepted eject is taken for a double press."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _slot_with_battery(simulator, cabinet_id)
    entity_id = _button(hass, cabinet_id, slot)
    await _press(hass, entity_id)
    simulator.clear_requests()

    with pytest.raises(HomeAssistantError) as error:
        await _press(hass, entity_id)

    assert error.value.translation_key == "eject_in_progress"
    assert simulator.request_count(EJECT_PATH) == 0
