"""The Bajie Charging integration: power-bank rental cabinets in Home Assistant."""

from __future__ import annotations

import logging

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .api import ChargeNowClient
from .const import CONF_BASE_URL, DOMAIN, MANUFACTURER
from .coordinator import BajieConfigEntry, BajieCoordinator, BajieRuntimeData
from .push_config import async_restore_push_config
from .push_health import async_delete_push_issues, async_track_push_health
from .services import async_setup_services
from .webhook import (
    async_register_webhook,
    async_register_webhooks,
    async_unregister_webhook,
)

_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.SENSOR,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, which serve every entry, and every entry's webhook.

    A webhook stays registered while its entry is not loaded, so that a push
    arriving then gets HTTP 503 instead of vanishing.
    """
    async_setup_services(hass)
    async_register_webhooks(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: BajieConfigEntry) -> bool:
    """Load the fleet, connect the webhook and set up the platforms."""
    # Registered again here for an entry added after async_setup ran, and to
    # show the entry's current title as the webhook's name.
    receiver = async_register_webhook(hass, entry)
    client = ChargeNowClient(
        async_get_clientsession(hass),
        entry.data[CONF_USERNAME],
        entry.data[CONF_PASSWORD],
        entry.data[CONF_BASE_URL],
    )
    coordinator = BajieCoordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()

    coordinator.account_device_id = (
        dr.async_get(hass)
        .async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer=MANUFACTURER,
            model="ChargeNow agent account",
            entry_type=dr.DeviceEntryType.SERVICE,
        )
        .id
    )
    entry.runtime_data = BajieRuntimeData(client=client, coordinator=coordinator)
    entry.async_on_unload(receiver.async_attach(coordinator))
    async_track_push_health(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: BajieConfigEntry) -> bool:
    """Unload the platforms, after which the webhook returns HTTP 503 to pushes."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: BajieConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a cabinet's device once the cloud no longer lists it.

    A cabinet still in the fleet would come back with the next poll, and the
    agent account's own device stays while the entry exists. While the entry
    is not loaded, for example while the cloud is unreachable, the fleet is
    not known, so any cabinet's device may go. A listed one comes back when
    the entry loads.
    """
    if (DOMAIN, entry.entry_id) in device.identifiers:
        return False
    if entry.state is not ConfigEntryState.LOADED:
        return True
    fleet = entry.runtime_data.coordinator.data
    return not any(
        domain == DOMAIN and cabinet_id in fleet
        for domain, cabinet_id in device.identifiers
    )


async def async_remove_entry(hass: HomeAssistant, entry: BajieConfigEntry) -> None:
    """Give the cloud's push configuration back and drop the entry's issues."""
    async_delete_push_issues(hass, entry)
    await async_restore_push_config(hass, entry)
    async_unregister_webhook(hass, entry)
