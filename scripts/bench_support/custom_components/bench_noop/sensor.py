"""Sensors that the entities webhook writes."""

from __future__ import annotations

from homeassistant.components.sensor import SensorEntity, SensorStateClass
from homeassistant.const import PERCENTAGE
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType

from .const import DATA_COUNTERS


class BenchWrittenSensor(SensorEntity):
    """A percentage sensor whose value changes on each write.

    Its state class and unit are those of the states that the writing
    webhook sets, so both webhooks write attributes of about one size.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = PERCENTAGE

    def __init__(self, index: int) -> None:
        """Name the sensor after its index among the written sensors."""
        self._attr_name = f"Benchmark written {index}"
        self._attr_unique_id = f"bench_noop_written_{index}"
        self._writes = 0

    @callback
    def async_write_next_value(self) -> None:
        """Write the next value, which differs from the one written before.

        Raises RuntimeError when the entity has not been added to Home
        Assistant yet.
        """
        self._writes += 1
        # Two consecutive counts never share their remainder modulo 100, so
        # each write is a change and the value stays a percentage.
        self._attr_native_value = self._writes % 100
        self.async_write_ha_state()


async def async_setup_platform(
    hass: HomeAssistant,
    config: ConfigType,
    async_add_entities: AddEntitiesCallback,
    discovery_info: DiscoveryInfoType | None = None,
) -> None:
    """Add the helper's written sensors when bench_noop loads this platform."""
    # Only bench_noop's own discovery adds them, not a `sensor:` entry in YAML.
    if discovery_info is None:
        return
    async_add_entities(hass.data[DATA_COUNTERS].written_sensors)
