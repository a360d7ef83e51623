"""Tests of setting up and unloading a config entry, and of polling errors."""

from __future__ import annotations

from homeassistant.components.webhook import async_register as register_webhook
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bajie_charging.const import DOMAIN
from simulator import FaultRule, Simulator

from .conftest import WEBHOOK_ID


def _online_entity_id(hass: HomeAssistant, cabinet_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{cabinet_id}_online"
    )
    assert entity_id is not None
    return entity_id


async def test_setup_and_unload(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Setup loads every cabinet as a device; only removal frees the webhook id."""
    assert loaded_entry.state is ConfigEntryState.LOADED
    devices = dr.async_entries_for_config_entry(
        dr.async_get(hass), loaded_entry.entry_id
    )
    identifiers = {next(iter(device.identifiers))[1] for device in devices}
    assert identifiers == {*simulator.cabinet_ids, loaded_entry.entry_id}

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()

    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    # The unloaded entry keeps its webhook, which returns HTTP 503 to pushes.
    with pytest.raises(ValueError, match="already defined"):
        register_webhook(hass, "test", "test", WEBHOOK_ID, lambda *args: None)

    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()

    # Registering the same id again only works once the entry released it.
    register_webhook(hass, "test", "test", WEBHOOK_ID, lambda *args: None)


async def test_setup_registers_webhook(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """While the entry is loaded, its webhook id is taken."""
    try:
        register_webhook(hass, "test", "test", WEBHOOK_ID, lambda *args: None)
    except ValueError:
        registered = True
    else:
        registered = False
    assert registered


async def test_cloud_down_retries_setup(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A cloud answering HTTP 503 makes Home Assistant retry the setup."""
    simulator.add_fault(FaultRule(path="*", status=503))
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_wrong_password_starts_reauth(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A rejected password fails the setup and starts a reauth flow."""
    simulator.add_fault(FaultRule(path="*", auth=True))
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_failed_poll_then_recovery(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A failed poll makes entities unavailable; the next success restores them."""
    coordinator = loaded_entry.runtime_data.coordinator
    entity_id = _online_entity_id(hass, simulator.cabinet_ids[0])
    cabinet_entities = [
        entry.entity_id
        for entry in er.async_entries_for_config_entry(
            er.async_get(hass), loaded_entry.entry_id
        )
        if not entry.disabled and entry.unique_id.startswith(simulator.cabinet_ids[0])
    ]
    domains = {entity.split(".")[0] for entity in cabinet_entities}
    assert domains == {"binary_sensor", "button", "event", "sensor"}

    simulator.add_fault(FaultRule(path="*", status=500))
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE
    states = {hass.states.get(entity).state for entity in cabinet_entities}
    assert states == {STATE_UNAVAILABLE}

    simulator.clear_faults()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "on"
    for entity in cabinet_entities:
        assert hass.states.get(entity).state != STATE_UNAVAILABLE, entity


async def test_business_error_keeps_cabinets(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A poll answered with a business error keeps every known cabinet."""
    coordinator = loaded_entry.runtime_data.coordinator
    simulator.add_fault(
        FaultRule(path="*", business_error=(2004, "Device not online."))
    )
    await coordinator.async_refresh()

    assert coordinator.last_update_success is False
    assert set(coordinator.data) == set(simulator.cabinet_ids)
