"""Tests of the update_entity action on cabinet entities."""

from __future__ import annotations

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bajie_charging.const import DOMAIN
from simulator import Simulator

LISTING_PATH = "/cabinet/getAllDevicePage"


async def test_update_entity_polls_the_cloud(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Asking for an entity update lists the fleet again and shows the change."""
    assert await async_setup_component(hass, "homeassistant", {})
    cabinet_id = simulator.cabinet_ids[0]
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{cabinet_id}_online"
    )
    assert entity_id is not None
    simulator.set_online(cabinet_id, False)
    simulator.clear_requests()

    await hass.services.async_call(
        "homeassistant",
        "update_entity",
        {ATTR_ENTITY_ID: entity_id},
        blocking=True,
    )
    await hass.async_block_till_done()

    assert simulator.request_count(LISTING_PATH) == 1
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == "off"
