"""Tests of the eject buttons against the simulated cloud."""

from __future__ import annotations

import asyncio

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.bajie_charging.api import DEFAULT_TIMEOUT
from custom_components.bajie_charging.const import DOMAIN
from simulator import FaultRule, Simulator

from .event_helpers import ClientFactory, connect_simulator, push, wait_for_request
from .time_travel import advance_until

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


def _batteries_to_rent(hass: HomeAssistant, cabinet_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{cabinet_id}_batteries_to_rent"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def test_timeout_after_sending_is_unknown(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """An eject the cloud received without responding times out, not resent.

    The client's real timeout runs out on a moved clock.
    """
    cabinet_id = simulator.cabinet_ids[0]
    slot = _slot_with_battery(simulator, cabinet_id)
    simulator.add_fault(FaultRule(path=EJECT_PATH, hang=True))
    simulator.clear_requests()

    press = hass.async_create_task(_press(hass, _button(hass, cabinet_id, slot)))
    seconds = await advance_until(hass, press.done, limit=DEFAULT_TIMEOUT + 5)

    with pytest.raises(HomeAssistantError) as error:
        press.result()
    assert error.value.translation_key == "eject_result_unknown"
    assert seconds >= DEFAULT_TIMEOUT
    assert simulator.request_count(EJECT_PATH) == 1


@pytest.mark.parametrize(
    "fault",
    [
        FaultRule(path=EJECT_PATH, status=503),
        FaultRule(path=EJECT_PATH, malformed=True),
    ],
    ids=["http-503", "malformed"],
)
async def test_unusable_reply_is_unknown(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    fault: FaultRule,
) -> None:
    """A server error or garbled reply to a sent eject is unknown, never resent."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _slot_with_battery(simulator, cabinet_id)
    simulator.add_fault(fault)
    simulator.clear_requests()

    with pytest.raises(HomeAssistantError) as error:
        await _press(hass, _button(hass, cabinet_id, slot))

    assert error.value.translation_key == "eject_result_unknown"
    assert simulator.request_count(EJECT_PATH) == 1


async def test_unopened_connection_retried_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """An eject whose connection never opened is tried once more, then fails."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _slot_with_battery(simulator, cabinet_id)
    client = loaded_entry.runtime_data.client
    sent_before = client.request_count
    await simulator.stop()

    with pytest.raises(HomeAssistantError) as error:
        await _press(hass, _button(hass, cabinet_id, slot))

    assert error.value.translation_key == "eject_failed"
    assert client.request_count - sent_before == 2
    assert simulator.cabinets[cabinet_id].slots[slot] is not None


async def test_refused_eject_changes_no_counts(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """An eject refused with a business code is shown, not resent, counts stay."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _slot_with_battery(simulator, cabinet_id)
    before = _batteries_to_rent(hass, cabinet_id)
    simulator.add_fault(
        FaultRule(path=EJECT_PATH, business_error=(2004, "Device not online."))
    )
    simulator.clear_requests()

    with pytest.raises(HomeAssistantError) as error:
        await _press(hass, _button(hass, cabinet_id, slot))
    await hass.async_block_till_done()

    assert error.value.translation_key == "eject_rejected"
    assert "Device not online." in str(error.value)
    assert simulator.request_count(EJECT_PATH) == 1
    assert simulator.cabinets[cabinet_id].slots[slot] is not None
    assert _batteries_to_rent(hass, cabinet_id) == before


async def test_press_after_unknown_result_is_rejected(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A press right after an eject with an unknown result sends nothing."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _slot_with_battery(simulator, cabinet_id)
    entity_id = _button(hass, cabinet_id, slot)
    simulator.add_fault(FaultRule(path=EJECT_PATH, malformed=True, times=1))
    with pytest.raises(HomeAssistantError):
        await _press(hass, entity_id)
    simulator.clear_requests()

    with pytest.raises(HomeAssistantError) as error:
        await _press(hass, entity_id)

    assert error.value.translation_key == "eject_in_progress"
    assert simulator.request_count(EJECT_PATH) == 0


@pytest.mark.parametrize(
    ("continue_on_error", "expected_done_events"),
    [(True, 1), (False, 0)],
    ids=["continue", "stop"],
)
async def test_failed_eject_in_automation(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    continue_on_error: bool,
    expected_done_events: int,
) -> None:
    """With continue_on_error an automation goes on after a failed eject."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _empty_slot(simulator, cabinet_id)
    done_events = async_capture_events(hass, "test_eject_attempt_done")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "triggers": [{"trigger": "event", "event_type": "test_eject"}],
                "actions": [
                    {
                        "action": "button.press",
                        "target": {"entity_id": _button(hass, cabinet_id, slot)},
                        "continue_on_error": continue_on_error,
                    },
                    {"event": "test_eject_attempt_done"},
                ],
            }
        },
    )
    simulator.clear_requests()

    hass.bus.async_fire("test_eject")
    await hass.async_block_till_done()

    assert simulator.request_count(EJECT_PATH) == 1
    assert len(done_events) == expected_done_events


async def test_missing_slot_not_ejected(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
) -> None:
    """Once the cabinet reports fewer slots, the last slots' buttons send nothing."""
    await connect_simulator(simulator, hass_client_no_auth)
    cabinet_id = simulator.cabinet_ids[0]
    entity_id = _button(hass, cabinet_id, 8)
    assert hass.states.get(entity_id).state != STATE_UNAVAILABLE

    await push(hass, simulator, cabinet_id, "CABINET_STATUS", totalCount=4)
    simulator.clear_requests()

    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE
    assert hass.states.get(_button(hass, cabinet_id, 4)).state != STATE_UNAVAILABLE
    # The entity service refuses an unavailable entity, so the entity's own
    # press is called, as a script racing the push would.
    button = hass.data["entity_components"][BUTTON_DOMAIN].get_entity(entity_id)
    with pytest.raises(HomeAssistantError) as error:
        await button.async_press()
    assert error.value.translation_key == "slot_out_of_range"
    assert simulator.request_count(EJECT_PATH) == 0


async def test_button_returns_with_its_slot(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A poll that lists the slot count again makes the slot's button available."""
    await connect_simulator(simulator, hass_client_no_auth)
    cabinet_id = simulator.cabinet_ids[0]
    entity_id = _button(hass, cabinet_id, 8)
    await push(hass, simulator, cabinet_id, "CABINET_STATUS", totalCount=4)
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE

    await loaded_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()

    assert hass.states.get(entity_id).state != STATE_UNAVAILABLE


async def test_reload_keeps_the_repeat_guard(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A press right after a reload still counts the eject sent before it."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _slot_with_battery(simulator, cabinet_id)
    await _press(hass, _button(hass, cabinet_id, slot))
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    simulator.clear_requests()

    with pytest.raises(HomeAssistantError) as error:
        await _press(hass, _button(hass, cabinet_id, slot))

    assert error.value.translation_key == "eject_in_progress"
    assert simulator.request_count(EJECT_PATH) == 0


async def test_reload_keeps_eject_in_flight(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A press after a reload sends nothing while the first eject waits."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _slot_with_battery(simulator, cabinet_id)
    simulator.add_fault(FaultRule(path=EJECT_PATH, delay=1.0, times=1))
    simulator.clear_requests()
    first = hass.async_create_task(_press(hass, _button(hass, cabinet_id, slot)))
    await wait_for_request(simulator, EJECT_PATH, 1)

    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=False)
    with pytest.raises(HomeAssistantError) as error:
        await _press(hass, _button(hass, cabinet_id, slot))

    assert error.value.translation_key == "eject_in_progress"
    await first
    assert simulator.request_count(EJECT_PATH) == 1
