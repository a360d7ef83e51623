"""Device triggers of a cabinet: one per kind of cabinet event.

Each trigger listens to the `bajie_charging_event` bus event of its device.
Eject results and rentals come as two triggers each, done and failed, so
that an automation about failures needs no condition.

Home Assistant 2026.10 also has target-based triggers, from a `trigger.py`
platform. For those, its own `event.received` trigger already works on the
cabinet event entity, so this integration adds no `trigger.py`.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import (
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_EVENT_DATA,
    CONF_PLATFORM,
    CONF_TYPE,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType
import probatio as vol

from .const import DOMAIN, EVENT_CABINET

TRIGGER_EVENT_DATA: dict[str, dict[str, Any]] = {
    "cabinet_online": {"type": "cabinet_online"},
    "cabinet_offline": {"type": "cabinet_offline"},
    "cabinet_status": {"type": "cabinet_status"},
    "battery_in": {"type": "battery_in"},
    "battery_borrow_out": {"type": "battery_borrow_out", "rental_failed": False},
    "rental_failed": {"type": "battery_borrow_out", "rental_failed": True},
    "battery_abnormal_warning": {"type": "battery_abnormal_warning"},
    "battery_ejected": {"type": "battery_popup", "eject_failed": False},
    "eject_failed": {"type": "battery_popup", "eject_failed": True},
    "admin_rental_order": {"type": "admin_rental_order"},
    "pos_info_status": {"type": "pos_info_status"},
}
"""Trigger types and the bus event data each one matches."""

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {vol.Required(CONF_TYPE): vol.In(TRIGGER_EVENT_DATA)}
)


def _is_cabinet(device: dr.DeviceEntry) -> bool:
    # The agent account's device is identified by its config entry's id.
    return any(
        domain == DOMAIN and identifier != device.config_entry_id
        for domain, identifier in device.identifiers
    )


async def async_get_triggers(
    hass: HomeAssistant, device_id: str
) -> list[dict[str, str]]:
    """List the triggers of a cabinet's device; other devices have none."""
    device = dr.async_get(hass).async_get(device_id, include_child_devices=False)
    if device is None or not _is_cabinet(device):
        return []
    return [
        {
            CONF_PLATFORM: "device",
            CONF_DOMAIN: DOMAIN,
            CONF_DEVICE_ID: device_id,
            CONF_TYPE: trigger_type,
        }
        for trigger_type in TRIGGER_EVENT_DATA
    ]


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Listen for the cabinet events that the trigger type matches."""
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: "event",
            event_trigger.CONF_EVENT_TYPE: EVENT_CABINET,
            CONF_EVENT_DATA: {
                CONF_DEVICE_ID: config[CONF_DEVICE_ID],
                **TRIGGER_EVENT_DATA[config[CONF_TYPE]],
            },
        }
    )
    return await event_trigger.async_attach_trigger(
        hass, event_config, action, trigger_info, platform_type="device"
    )
