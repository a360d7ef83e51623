"""Logbook entries of cabinet events, such as "battery B borrowed from slot 3"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from .api.push import FaultReason
from .const import DOMAIN, EVENT_CABINET

# The logbook shows these messages untranslated, because it has no
# translations for the events of integrations.
_FAULT_REASON_TEXT = {
    FaultReason.OTHER: "other fault",
    FaultReason.BATTERY_AUTHORIZATION_FAILED: "battery authorization failed",
    FaultReason.BATTERY_ID_NOT_FOUND: "battery ID not found",
    FaultReason.EJECT_FAILED: "eject failed",
    FaultReason.COMMAND_TIMED_OUT: "command to the cabinet timed out",
}


def _battery(data: Mapping[str, Any]) -> str:
    battery_id = data.get("battery_id")
    return "a battery" if battery_id is None else f"battery {battery_id}"


def _slot(data: Mapping[str, Any], preposition: str) -> str:
    slot = data.get("slot")
    return "" if slot is None else f" {preposition} slot {slot}"


def _order(data: Mapping[str, Any]) -> str:
    order_id = data.get("order_id")
    return "" if order_id is None else f" (order {order_id})"


def _fault(data: Mapping[str, Any]) -> str:
    """Return the reason and the cloud's description of a fault, if any."""
    parts: list[str] = []
    reason = data.get("fault_reason")
    if isinstance(reason, str) and reason in FaultReason:
        parts.append(_FAULT_REASON_TEXT[FaultReason(reason)])
    if (cause := data.get("fault_cause")) is not None:
        parts.append(f'"{cause}"')
    if not parts:
        return ""
    return ": " + ", ".join(parts)


def _describe_status(data: Mapping[str, Any]) -> str:
    to_rent = data.get("batteries_to_rent")
    free = data.get("free_slots")
    if to_rent is None or free is None:
        return "reported its status"
    return (
        f"reported its status: {_count(to_rent, 'battery', 'batteries')} to rent,"
        f" {_count(free, 'free slot', 'free slots')}"
    )


def _count(number: object, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


def _describe_popup(data: Mapping[str, Any]) -> str:
    if data.get("eject_failed") is True:
        return f"failed to eject {_battery(data)}{_slot(data, 'from')}{_fault(data)}"
    if data.get("eject_failed") is False:
        return f"ejected {_battery(data)}{_slot(data, 'from')}"
    return f"reported an eject of {_battery(data)}{_slot(data, 'from')}"


def _describe_pos(data: Mapping[str, Any]) -> str:
    terminal = data.get("pos_device_id", "")
    terminal = f"POS terminal {terminal}".strip()
    if data.get("pos_online") is True:
        return f"{terminal} went online"
    if data.get("pos_online") is False:
        return f"{terminal} went offline"
    return f"{terminal} reported its status"


def describe_cabinet_event(event_type: str, data: Mapping[str, Any]) -> str:
    """Return the logbook message of a cabinet event, without the cabinet's name."""
    match event_type:
        case "cabinet_online":
            return "went online"
        case "cabinet_offline":
            return "went offline"
        case "cabinet_status":
            return _describe_status(data)
        case "battery_in":
            return f"{_battery(data)} returned{_slot(data, 'to')}{_order(data)}"
        case "battery_borrow_out" if data.get("fault_reason") is not None:
            return (
                f"failed to rent out {_battery(data)}{_slot(data, 'from')}"
                f"{_order(data)}{_fault(data)}"
            )
        case "battery_borrow_out":
            return f"{_battery(data)} borrowed{_slot(data, 'from')}{_order(data)}"
        case "battery_abnormal_warning":
            return f"{_battery(data)}{_slot(data, 'in')} is abnormal{_fault(data)}"
        case "battery_popup":
            return _describe_popup(data)
        case "admin_rental_order":
            return (
                f"an administrator rented out {_battery(data)}"
                f"{_slot(data, 'from')}{_order(data)}"
            )
        case "pos_info_status":
            return _describe_pos(data)
    return f"sent an event the integration does not know: {data.get('event')}"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Any], dict[str, str]]], None],
) -> None:
    """Describe the integration's bus events to the logbook."""

    @callback
    def async_describe_cabinet_event(event: Any) -> dict[str, str]:
        """Describe one `bajie_charging_event`, named after the cabinet's device."""
        data: Mapping[str, Any] = event.data
        name = str(data.get("cabinet_id", "Cabinet"))
        device_id = data.get("device_id")
        if isinstance(device_id, str) and (
            device := dr.async_get(hass).async_get(device_id)
        ):
            name = device.name_by_user or device.name or name
        return {
            LOGBOOK_ENTRY_NAME: name,
            LOGBOOK_ENTRY_MESSAGE: describe_cabinet_event(str(data.get("type")), data),
        }

    async_describe_event(DOMAIN, EVENT_CABINET, async_describe_cabinet_event)
