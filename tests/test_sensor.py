"""Tests of the cabinet sensors and the online binary sensor after a poll."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bajie_charging.const import DOMAIN
from simulator import Simulator


def _state(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def test_sensors_match_the_cloud(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Each cabinet's sensors show what the fleet listing reported."""
    for cabinet_id in simulator.cabinet_ids:
        cabinet = simulator.cabinets[cabinet_id]
        batteries = sum(1 for battery in cabinet.slots.values() if battery)
        assert _state(hass, "sensor", f"{cabinet_id}_batteries_to_rent") == str(
            batteries
        )
        assert _state(hass, "sensor", f"{cabinet_id}_free_slots") == str(8 - batteries)
        assert _state(hass, "sensor", f"{cabinet_id}_total_slots") == "8"
        assert _state(hass, "sensor", f"{cabinet_id}_signal") == str(cabinet.signal)
        assert _state(hass, "binary_sensor", f"{cabinet_id}_online") == "on"


async def test_device_describes_the_cabinet(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """The device carries the cabinet id, maker, model and serial number."""
    cabinet_id = simulator.cabinet_ids[0]
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, cabinet_id), loaded_entry.entry_id
    )

    assert device is not None
    assert device.name == cabinet_id
    assert device.serial_number == cabinet_id
    assert device.manufacturer == "Bajie Charging"
    assert device.model == "8-slot cabinet"
