"""Actions: eject a battery, send a device operation, refresh the fleet."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.helpers import config_validation as cv, device_registry as dr
import probatio as vol

from .api import EjectMode, Operation
from .commands import (
    async_eject,
    async_operate,
    invalid_input,
    slot_number,
)
from .const import DOMAIN
from .coordinator import BajieConfigEntry, BajieCoordinator

SERVICE_EJECT = "eject"
SERVICE_DEVICE_OPERATION = "device_operation"
SERVICE_REFRESH = "refresh"

ATTR_DEVICE_ID = "device_id"
ATTR_CABINET_ID = "cabinet_id"
ATTR_SLOT = "slot"
ATTR_MODE = "mode"
ATTR_ORDER_ID = "order_id"
ATTR_OPERATION = "operation"
ATTR_CONFIG_ENTRY_ID = "config_entry_id"

OFFERED_OPERATIONS = (
    Operation.RESTART,
    Operation.LOCK,
    Operation.UNLOCK,
    Operation.HEARTBEAT,
    Operation.REPORT,
)
MAX_SLOT_DIGITS = 4
"""Longer slot numbers are rejected before int() reads them."""

_TARGET = {
    vol.Optional(ATTR_DEVICE_ID): cv.string,
    vol.Optional(ATTR_CABINET_ID): cv.string,
}
# Values are range-checked in the handlers, so that every bad value raises
# a translated ServiceValidationError rather than a bare schema error.
_SLOT = cv.match_all

EJECT_SCHEMA = vol.Schema(
    {
        **_TARGET,
        vol.Required(ATTR_SLOT): _SLOT,
        vol.Optional(ATTR_MODE, default=EjectMode.REPAIR.value): vol.In(
            [mode.value for mode in EjectMode]
        ),
        vol.Optional(ATTR_ORDER_ID): cv.string,
    }
)
DEVICE_OPERATION_SCHEMA = vol.Schema(
    {
        **_TARGET,
        vol.Required(ATTR_OPERATION): cv.string,
        vol.Optional(ATTR_SLOT): _SLOT,
    }
)
REFRESH_SCHEMA = vol.Schema({vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})


def _loaded_entries(hass: HomeAssistant) -> list[BajieConfigEntry]:
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
    ]


def _valid_slot(value: object) -> int:
    """Return the slot as an int, or raise for anything but a whole number >= 1.

    A fraction or a boolean is rejected rather than rounded, because the
    slot picks which battery a physical command ejects. Only ASCII digits
    are read: str.isdigit also accepts characters such as superscripts,
    which int() rejects.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= MAX_SLOT_DIGITS:
            value = int(text)
    return slot_number(value)


def _resolve_cabinet(
    hass: HomeAssistant, data: dict[str, Any]
) -> tuple[BajieCoordinator, str]:
    """Find the cabinet a call targets and the coordinator that tracks it."""
    device_id = data.get(ATTR_DEVICE_ID)
    cabinet_id = data.get(ATTR_CABINET_ID)
    if (device_id is None) == (cabinet_id is None):
        raise invalid_input("target_required")

    if device_id is not None:
        device = dr.async_get(hass).async_get(device_id)
        cabinet_ids = [
            identifier
            for domain, identifier in (device.identifiers if device else ())
            if domain == DOMAIN
        ]
        if not cabinet_ids:
            raise invalid_input("device_not_found", device_id=device_id)
        cabinet_id = cabinet_ids[0]

    assert cabinet_id is not None
    for entry in _loaded_entries(hass):
        coordinator = entry.runtime_data.coordinator
        if cabinet_id in coordinator.data:
            return coordinator, cabinet_id
    raise invalid_input("cabinet_not_found", cabinet_id=cabinet_id)


async def _async_eject(call: ServiceCall) -> None:
    coordinator, cabinet_id = _resolve_cabinet(call.hass, call.data)
    slot = _valid_slot(call.data[ATTR_SLOT])
    mode = EjectMode(call.data[ATTR_MODE])
    # Blanks are no order id, which the command rejects in rent mode.
    order_id = (call.data.get(ATTR_ORDER_ID) or "").strip() or None
    await async_eject(coordinator, cabinet_id, slot, mode, order_id)


async def _async_device_operation(call: ServiceCall) -> None:
    coordinator, cabinet_id = _resolve_cabinet(call.hass, call.data)
    offered = [operation.value for operation in OFFERED_OPERATIONS]
    if call.data[ATTR_OPERATION] not in offered:
        raise invalid_input(
            "invalid_operation",
            operation=call.data[ATTR_OPERATION],
            offered=", ".join(offered),
        )
    operation = Operation(call.data[ATTR_OPERATION])
    slot = call.data.get(ATTR_SLOT)
    if slot is not None:
        slot = _valid_slot(slot)
    await async_operate(coordinator, cabinet_id, operation, slot)


async def _async_refresh(call: ServiceCall) -> None:
    entry_id = call.data.get(ATTR_CONFIG_ENTRY_ID)
    entries = _loaded_entries(call.hass)
    if entry_id is not None:
        entries = [entry for entry in entries if entry.entry_id == entry_id]
        if not entries:
            raise invalid_input("entry_not_loaded", config_entry_id=entry_id)
    for entry in entries:
        await entry.runtime_data.coordinator.async_refresh()


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions once, for every entry."""
    hass.services.async_register(DOMAIN, SERVICE_EJECT, _async_eject, EJECT_SCHEMA)
    hass.services.async_register(
        DOMAIN,
        SERVICE_DEVICE_OPERATION,
        _async_device_operation,
        DEVICE_OPERATION_SCHEMA,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_REFRESH, _async_refresh, REFRESH_SCHEMA
    )
