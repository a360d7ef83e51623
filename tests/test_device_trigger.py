"""Tests of the cabinet device triggers, fired by pushes over real HTTP."""

from __future__ import annotations

from typing import Any

from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_get_device_automations,
    async_mock_service,
)

from custom_components.bajie_charging.const import DOMAIN
from simulator import Simulator

from .event_helpers import (
    device_id_of,
    empty_slot,
    entity_id_for,
    occupied_slot,
    push,
)

TRIGGER_TYPES = {
    "cabinet_online",
    "cabinet_offline",
    "cabinet_status",
    "battery_in",
    "battery_borrow_out",
    "rental_failed",
    "battery_abnormal_warning",
    "battery_ejected",
    "eject_failed",
    "admin_rental_order",
    "pos_info_status",
}


async def _add_automation(
    hass: HomeAssistant, device_id: str, trigger_type: str
) -> list[ServiceCall]:
    """Set up an automation on one device trigger and return its action's calls."""
    calls = async_mock_service(hass, "test", "automation")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "triggers": {
                    "trigger": "device",
                    "domain": DOMAIN,
                    "device_id": device_id,
                    "type": trigger_type,
                },
                "actions": {
                    "action": "test.automation",
                    "data": {
                        "cabinet": "{{ trigger.event.data.cabinet_id }}",
                        "battery": "{{ trigger.event.data.battery_id }}",
                        "slot": "{{ trigger.event.data.slot }}",
                    },
                },
            }
        },
    )
    return calls


async def test_cabinet_lists_its_triggers(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """The cabinet's device offers one trigger per kind of event."""
    device_id = device_id_of(hass, loaded_entry.entry_id, simulator.cabinet_ids[0])
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, device_id
    )

    ours = [trigger for trigger in triggers if trigger["domain"] == DOMAIN]
    assert {trigger["type"] for trigger in ours} == TRIGGER_TYPES
    assert all(trigger["device_id"] == device_id for trigger in ours)


async def test_borrow_trigger_runs_automation(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    cloud: Simulator,
) -> None:
    """A borrow pushed over HTTP runs the automation with the event data."""
    cabinet_id = cloud.cabinet_ids[0]
    slot = occupied_slot(cloud, cabinet_id)
    battery_id = cloud.cabinets[cabinet_id].slots[slot].battery_id
    calls = await _add_automation(
        hass,
        device_id_of(hass, loaded_entry.entry_id, cabinet_id),
        "battery_borrow_out",
    )
    await push(hass, cloud, cabinet_id, "BATTERY_BORROW_OUT", outSlot=slot)

    assert len(calls) == 1
    assert calls[0].data == {"cabinet": cabinet_id, "battery": battery_id, "slot": slot}


@pytest.mark.parametrize(
    ("trigger_type", "push_args"),
    [
        ("cabinet_online", ("CABINET_ONLINE", {})),
        ("cabinet_offline", ("CABINET_OFFLINE", {})),
        ("cabinet_status", ("CABINET_STATUS", {})),
        ("battery_in", ("BATTERY_IN", {})),
        ("battery_abnormal_warning", ("BATTERY_ABNORMAL_WARNING", {})),
        ("battery_ejected", ("BATTERY_POPUP", {"outStatus": "0"})),
        ("eject_failed", ("BATTERY_POPUP", {"outStatus": "1"})),
        ("rental_failed", ("BATTERY_BORROW_OUT", {"faultType": 4})),
        ("admin_rental_order", ("ADMIN_RENTAL_ORDER", {})),
        ("pos_info_status", ("POS_INFO_STATUS", {})),
    ],
)
async def test_each_trigger_fires(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    cloud: Simulator,
    trigger_type: str,
    push_args: tuple[str, dict[str, Any]],
) -> None:
    """Each trigger type runs its automation on the matching push."""
    cabinet_id = cloud.cabinet_ids[0]
    cloud.cabinets[cabinet_id].pos_device_id = "POS0000001"
    calls = await _add_automation(
        hass, device_id_of(hass, loaded_entry.entry_id, cabinet_id), trigger_type
    )
    kind, overrides = push_args
    await push(hass, cloud, cabinet_id, kind, **overrides)

    assert len(calls) == 1


async def test_eject_failed_ignores_success(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    cloud: Simulator,
) -> None:
    """The eject failed trigger stays quiet for an eject that worked."""
    cabinet_id = cloud.cabinet_ids[0]
    calls = await _add_automation(
        hass, device_id_of(hass, loaded_entry.entry_id, cabinet_id), "eject_failed"
    )
    await push(hass, cloud, cabinet_id, "BATTERY_POPUP", outStatus="0")

    assert calls == []


async def test_borrow_trigger_ignores_failed_rental(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    cloud: Simulator,
) -> None:
    """The battery borrowed trigger stays quiet when the rental failed."""
    cabinet_id = cloud.cabinet_ids[0]
    calls = await _add_automation(
        hass,
        device_id_of(hass, loaded_entry.entry_id, cabinet_id),
        "battery_borrow_out",
    )
    await push(
        hass,
        cloud,
        cabinet_id,
        "BATTERY_BORROW_OUT",
        outSlot=occupied_slot(cloud, cabinet_id),
        faultType=4,
    )

    assert calls == []


async def test_trigger_ignores_other_cabinet(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    cloud: Simulator,
) -> None:
    """A trigger of one cabinet does not fire for another cabinet's event."""
    watched, other = cloud.cabinet_ids[:2]
    calls = await _add_automation(
        hass, device_id_of(hass, loaded_entry.entry_id, watched), "battery_in"
    )
    await push(hass, cloud, other, "BATTERY_IN", returnSlot=empty_slot(cloud, other))

    assert calls == []


async def test_event_received_trigger_works(
    hass: HomeAssistant, cloud: Simulator
) -> None:
    """The target-based event.received trigger works on the event entity."""
    cabinet_id = cloud.cabinet_ids[0]
    calls = async_mock_service(hass, "test", "automation")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "triggers": {
                    "trigger": "event.received",
                    "target": {
                        "entity_id": entity_id_for(hass, "event", f"{cabinet_id}_event")
                    },
                    "options": {"event_type": ["battery_borrow_out"]},
                },
                "actions": {"action": "test.automation"},
            }
        },
    )
    await push(hass, cloud, cabinet_id, "CABINET_STATUS")
    await push(hass, cloud, cabinet_id, "BATTERY_BORROW_OUT")

    assert len(calls) == 1
