"""Tests of how device operations and ejects report the cloud's failures.

Every command goes through an action or a button press to the simulator,
whose fault injection decides how the cloud fails.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bajie_charging.const import DOMAIN
from simulator import FaultRule, Simulator

OPERATION_PATH = "/cabinet/operation"
EJECT_PATH = "/cabinet/ejectByRepair"


async def _operate(
    hass: HomeAssistant, cabinet_id: str, operation: str, **extra: Any
) -> None:
    await hass.services.async_call(
        DOMAIN,
        "device_operation",
        {"cabinet_id": cabinet_id, "operation": operation, **extra},
        blocking=True,
    )


def _reauth_flows(hass: HomeAssistant, entry: MockConfigEntry) -> list[Any]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
        and flow["context"]["entry_id"] == entry.entry_id
    ]


def _occupied_slot(simulator: Simulator, cabinet_id: str) -> int:
    slots = simulator.cabinets[cabinet_id].slots
    return next(slot for slot, battery in sorted(slots.items()) if battery)


async def test_operation_on_offline_cabinet_rejected(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """The cloud's rejection of an offline cabinet reaches the user, sent once."""
    cabinet_id = simulator.cabinet_ids[0]
    simulator.set_online(cabinet_id, False)
    simulator.clear_requests()

    with pytest.raises(HomeAssistantError) as error:
        await _operate(hass, cabinet_id, "report")

    assert error.value.translation_key == "operation_rejected"
    assert error.value.translation_placeholders == {
        "cabinet_id": cabinet_id,
        "operation": "report",
        "code": "2004",
        "message": "Device not online.",
    }
    assert "Device not online." in str(error.value)
    assert simulator.request_count(OPERATION_PATH) == 1


async def test_lock_of_missing_slot_rejected(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A lock of a slot the cabinet lacks is rejected before it is sent."""
    cabinet_id = simulator.cabinet_ids[0]
    simulator.clear_requests()

    with pytest.raises(ServiceValidationError) as error:
        await _operate(hass, cabinet_id, "lock", slot=9)

    assert error.value.translation_key == "slot_out_of_range"
    assert simulator.cabinets[cabinet_id].locked_slots == set()
    assert simulator.request_count(OPERATION_PATH) == 0


@pytest.mark.parametrize(
    "fault",
    [
        FaultRule(path=OPERATION_PATH, drop_after_action=True),
        FaultRule(path=OPERATION_PATH, status=502),
        FaultRule(path=OPERATION_PATH, malformed=True),
    ],
    ids=["no-reply", "http-502", "malformed"],
)
async def test_operation_without_usable_reply_is_unknown(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    fault: FaultRule,
) -> None:
    """An operation the cloud may have acted on is reported unknown, never resent."""
    cabinet_id = simulator.cabinet_ids[0]
    simulator.add_fault(fault)
    simulator.clear_requests()

    with pytest.raises(HomeAssistantError) as error:
        await _operate(hass, cabinet_id, "lock", slot=3)

    assert error.value.translation_key == "operation_result_unknown"
    assert error.value.translation_placeholders == {
        "cabinet_id": cabinet_id,
        "operation": "lock",
    }
    assert simulator.request_count(OPERATION_PATH) == 1


async def test_dropped_lock_still_took_effect(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A lock without a reply may have acted, which is why it is not resent."""
    cabinet_id = simulator.cabinet_ids[0]
    simulator.add_fault(FaultRule(path=OPERATION_PATH, drop_after_action=True))

    with pytest.raises(HomeAssistantError):
        await _operate(hass, cabinet_id, "lock", slot=3)

    assert simulator.cabinets[cabinet_id].locked_slots == {3}


async def test_operation_with_cloud_unreachable_fails(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """An operation whose connection never opened fails after one more try."""
    cabinet_id = simulator.cabinet_ids[0]
    client = loaded_entry.runtime_data.client
    sent_before = client.request_count
    await simulator.stop()

    with pytest.raises(HomeAssistantError) as error:
        await _operate(hass, cabinet_id, "restart")

    placeholders = error.value.translation_placeholders
    assert error.value.translation_key == "operation_failed"
    assert placeholders is not None
    assert placeholders["operation"] == "restart"
    assert "cannot connect to the cloud" in placeholders["error"]
    assert client.request_count - sent_before == 2
    assert simulator.cabinets[cabinet_id].online is True


async def test_rate_limited_operation_fails(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """HTTP 429 to an operation is a failure that is not retried."""
    cabinet_id = simulator.cabinet_ids[0]
    simulator.add_fault(FaultRule(path=OPERATION_PATH, status=429, retry_after=30))
    simulator.clear_requests()

    with pytest.raises(HomeAssistantError) as error:
        await _operate(hass, cabinet_id, "heartbeat")

    placeholders = error.value.translation_placeholders
    assert error.value.translation_key == "operation_failed"
    assert placeholders is not None
    assert "HTTP 429" in placeholders["error"]
    assert simulator.request_count(OPERATION_PATH) == 1


async def test_operation_auth_failure_starts_reauth(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Rejected credentials on an operation start a reauth flow for the entry."""
    cabinet_id = simulator.cabinet_ids[0]
    simulator.add_fault(FaultRule(path=OPERATION_PATH, auth=True))
    simulator.clear_requests()

    with pytest.raises(HomeAssistantError) as error:
        await _operate(hass, cabinet_id, "unlock", slot=2)
    await hass.async_block_till_done()

    assert error.value.translation_key == "auth_failed"
    assert len(_reauth_flows(hass, loaded_entry)) == 1
    assert simulator.request_count(OPERATION_PATH) == 1


async def test_eject_auth_failure_starts_reauth(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Rejected credentials on an eject start a reauth flow, and no battery leaves."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _occupied_slot(simulator, cabinet_id)
    simulator.add_fault(FaultRule(path=EJECT_PATH, auth=True))
    simulator.clear_requests()

    with pytest.raises(HomeAssistantError) as error:
        await hass.services.async_call(
            DOMAIN, "eject", {"cabinet_id": cabinet_id, "slot": slot}, blocking=True
        )
    await hass.async_block_till_done()

    assert error.value.translation_key == "auth_failed"
    assert len(_reauth_flows(hass, loaded_entry)) == 1
    assert simulator.request_count(EJECT_PATH) == 1
    assert simulator.cabinets[cabinet_id].slots[slot] is not None


async def test_eject_after_auth_failure_is_not_blocked(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """An eject the cloud rejected for its credentials does not count as sent."""
    cabinet_id = simulator.cabinet_ids[0]
    slot = _occupied_slot(simulator, cabinet_id)
    simulator.add_fault(FaultRule(path=EJECT_PATH, auth=True, times=1))
    data = {"cabinet_id": cabinet_id, "slot": slot}
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(DOMAIN, "eject", data, blocking=True)
    simulator.clear_requests()

    await hass.services.async_call(DOMAIN, "eject", data, blocking=True)

    assert simulator.request_count(EJECT_PATH) == 1
    assert simulator.cabinets[cabinet_id].slots[slot] is None
