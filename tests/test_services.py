"""Tests of the eject, device operation and refresh actions."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bajie_charging.const import DOMAIN
from simulator import Simulator

EJECT_PATH = "/cabinet/ejectByRepair"
RENT_PATH = "/cabinet/ejectByRent"
OPERATION_PATH = "/cabinet/operation"


def _occupied_slot(simulator: Simulator, cabinet_id: str) -> int:
    slots = simulator.cabinets[cabinet_id].slots
    return next(slot for slot, battery in sorted(slots.items()) if battery)


async def _call(hass: HomeAssistant, service: str, data: dict[str, object]) -> None:
    await hass.services.async_call(DOMAIN, service, data, blocking=True)


async def test_eject_by_cabinet_id(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """The eject action sends one eject by repair for the named slot."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _occupied_slot(simulator, cabinet_id)
    simulator.clear_requests()

    await _call(hass, "eject", {"cabinet_id": cabinet_id, "slot": slot})

    assert simulator.request_count(EJECT_PATH) == 1
    assert simulator.cabinets[cabinet_id].slots[slot] is None


async def test_eject_by_device_in_rent_mode(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A device target and rent mode send an eject by rent with the order id."""
    cabinet_id = simulator.cabinet_ids[1]
    slot = _occupied_slot(simulator, cabinet_id)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, cabinet_id), loaded_entry.entry_id
    )
    assert device is not None
    simulator.clear_requests()

    await _call(
        hass,
        "eject",
        {"device_id": device.id, "slot": slot, "mode": "rent", "order_id": "ORD1"},
    )

    requests = [r for r in simulator.requests if r.path == RENT_PATH]
    assert len(requests) == 1
    assert requests[0].query["rentOrderId"] == "ORD1"


@pytest.mark.parametrize(
    ("data", "translation_key"),
    [
        ({"slot": 1}, "target_required"),
        ({"cabinet_id": "NOPE", "slot": 1}, "cabinet_not_found"),
        ({"device_id": "not-a-device", "slot": 1}, "device_not_found"),
        ({"cabinet_id": "{first}", "slot": 9}, "slot_out_of_range"),
        ({"cabinet_id": "{first}", "slot": 1, "mode": "rent"}, "order_id_required"),
        ({"cabinet_id": "{first}", "slot": 1.5}, "invalid_slot"),
        ({"cabinet_id": "{first}", "slot": True}, "invalid_slot"),
        ({"cabinet_id": "{first}", "slot": "one"}, "invalid_slot"),
        ({"cabinet_id": "{first}", "slot": "\u00b2"}, "invalid_slot"),
        ({"cabinet_id": "{first}", "slot": "9" * 5000}, "invalid_slot"),
        (
            {"cabinet_id": "{first}", "slot": 1, "mode": "rent", "order_id": "  "},
            "order_id_required",
        ),
    ],
)
async def test_eject_rejects_bad_input(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    data: dict[str, object],
    translation_key: str,
) -> None:
    """Bad input raises a translated validation error and sends nothing."""
    if data.get("cabinet_id") == "{first}":
        data = {**data, "cabinet_id": simulator.cabinet_ids[0]}
    simulator.clear_requests()

    with pytest.raises(ServiceValidationError) as error:
        await _call(hass, "eject", data)

    assert error.value.translation_key == translation_key
    assert simulator.request_count() == 0


async def test_eject_slot_zero_is_rejected(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Slot 0, which the cloud reads as every slot, never leaves."""
    simulator.clear_requests()
    with pytest.raises(ServiceValidationError) as error:
        await _call(hass, "eject", {"cabinet_id": simulator.cabinet_ids[0], "slot": 0})

    assert error.value.translation_key == "invalid_slot"
    assert simulator.request_count() == 0
    assert simulator.forbidden_slot_requests == 0


async def test_device_operation_lock_slot(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A lock operation goes out once with its slot."""
    cabinet_id = simulator.cabinet_ids[0]
    simulator.clear_requests()

    await _call(
        hass,
        "device_operation",
        {"cabinet_id": cabinet_id, "operation": "lock", "slot": 2},
    )

    requests = [r for r in simulator.requests if r.path == OPERATION_PATH]
    assert len(requests) == 1
    assert requests[0].query["operationType"] == "lock"
    assert requests[0].query["slotNum"] == "2"


async def test_device_operation_restart_needs_no_slot(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A cabinet-wide operation sends slot 1 when none is given."""
    simulator.clear_requests()
    await _call(
        hass,
        "device_operation",
        {"cabinet_id": simulator.cabinet_ids[0], "operation": "report"},
    )

    requests = [r for r in simulator.requests if r.path == OPERATION_PATH]
    assert [r.query["slotNum"] for r in requests] == ["1"]


async def test_restart_of_cabinet_without_slots(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A cabinet-wide operation goes out even when the cabinet lists no slots."""
    cabinet_id = simulator.cabinet_ids[0]
    simulator.cabinets[cabinet_id].slots = {}
    await loaded_entry.runtime_data.coordinator.async_refresh()
    assert loaded_entry.runtime_data.coordinator.data[cabinet_id].total_slots == 0
    simulator.clear_requests()

    await _call(
        hass,
        "device_operation",
        {"cabinet_id": cabinet_id, "operation": "report", "slot": 1},
    )
    await _call(
        hass, "device_operation", {"cabinet_id": cabinet_id, "operation": "restart"}
    )

    requests = [r for r in simulator.requests if r.path == OPERATION_PATH]
    assert [r.query["slotNum"] for r in requests] == ["1", "1"]


async def test_lock_without_slot_is_invalid(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Lock and unlock need a slot."""
    with pytest.raises(ServiceValidationError) as error:
        await _call(
            hass,
            "device_operation",
            {"cabinet_id": simulator.cabinet_ids[0], "operation": "unlock"},
        )

    assert error.value.translation_key == "slot_required"


async def test_popall_is_not_offered(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Operations that eject every battery cannot be sent."""
    with pytest.raises(ServiceValidationError) as error:
        await _call(
            hass,
            "device_operation",
            {"cabinet_id": simulator.cabinet_ids[0], "operation": "popall"},
        )

    assert error.value.translation_key == "invalid_operation"
    assert simulator.request_count(OPERATION_PATH) == 0


async def test_refresh_lists_the_fleet(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Refresh polls each loaded entry, or the one named."""
    simulator.clear_requests()
    await _call(hass, "refresh", {})
    await _call(hass, "refresh", {"config_entry_id": loaded_entry.entry_id})

    assert simulator.request_count("/cabinet/getAllDevicePage") == 2


async def test_refresh_unknown_entry_is_invalid(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Naming an entry that is not loaded raises a validation error."""
    with pytest.raises(ServiceValidationError) as error:
        await _call(hass, "refresh", {"config_entry_id": "nope"})

    assert error.value.translation_key == "entry_not_loaded"
