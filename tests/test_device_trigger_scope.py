"""Tests of which devices of an entry offer the cabinet device triggers."""

from __future__ import annotations

from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_get_device_automations,
)

from custom_components.bajie_charging.const import DOMAIN


async def test_account_device_offers_no_triggers(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The agent account's device lists no cabinet triggers."""
    account_device_id = loaded_entry.runtime_data.coordinator.account_device_id
    assert account_device_id is not None

    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, account_device_id
    )

    assert [trigger for trigger in triggers if trigger["domain"] == DOMAIN] == []
