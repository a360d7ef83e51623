"""Sensors of a cabinet: signal, batteries to rent, free slots, total slots."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Cabinet
from .coordinator import BajieConfigEntry, BajieCoordinator
from .entity import BajieCabinetEntity, async_setup_cabinet_entities

# Entities only read the coordinator's state, so updates need no limit.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class BajieSensorEntityDescription(SensorEntityDescription):
    """Describes a cabinet sensor and how to read its value."""

    value_fn: Callable[[Cabinet], int | None]


SENSORS: tuple[BajieSensorEntityDescription, ...] = (
    BajieSensorEntityDescription(
        key="signal",
        translation_key="signal",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda cabinet: cabinet.signal,
    ),
    BajieSensorEntityDescription(
        key="batteries_to_rent",
        translation_key="batteries_to_rent",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda cabinet: cabinet.rentable,
    ),
    BajieSensorEntityDescription(
        key="free_slots",
        translation_key="free_slots",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda cabinet: cabinet.returnable,
    ),
    BajieSensorEntityDescription(
        key="total_slots",
        translation_key="total_slots",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda cabinet: cabinet.total_slots,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: BajieConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of every cabinet, now and as cabinets appear."""

    def build(
        coordinator: BajieCoordinator, cabinet: Cabinet
    ) -> Iterable[BajieCabinetEntity]:
        return (
            BajieSensor(coordinator, cabinet.cabinet_id, description)
            for description in SENSORS
        )

    async_setup_cabinet_entities(
        entry.runtime_data.coordinator, async_add_entities, build
    )


class BajieSensor(BajieCabinetEntity, SensorEntity):
    """A number a cabinet reports."""

    entity_description: BajieSensorEntityDescription

    def __init__(
        self,
        coordinator: BajieCoordinator,
        cabinet_id: str,
        description: BajieSensorEntityDescription,
    ) -> None:
        """Set up the sensor for one cabinet."""
        super().__init__(coordinator, cabinet_id)
        self.entity_description = description
        self._attr_unique_id = f"{cabinet_id}_{description.key}"

    @property
    def native_value(self) -> int | None:
        """Return the value, or None while the cloud has not reported it."""
        cabinet = self.cabinet
        if cabinet is None:
            return None
        return self.entity_description.value_fn(cabinet)
