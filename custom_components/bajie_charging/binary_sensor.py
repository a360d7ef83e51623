"""Binary sensors of a cabinet: connected, empty, full, abnormal battery."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Cabinet
from .api.push import is_abnormal
from .coordinator import BajieConfigEntry, BajieCoordinator
from .entity import BajieCabinetEntity, async_setup_cabinet_entities

# Entities only read the coordinator's state, so updates need no limit.
PARALLEL_UPDATES = 0


def _is_zero(value: int | None) -> bool | None:
    if value is None:
        return None
    return value == 0


def _has_abnormal_battery(cabinet: Cabinet) -> bool | None:
    if cabinet.batteries is None:
        return None
    return any(is_abnormal(battery) for battery in cabinet.batteries)


@dataclass(frozen=True, kw_only=True)
class BajieBinarySensorEntityDescription(BinarySensorEntityDescription):
    """Describes a cabinet binary sensor and how to read its value."""

    value_fn: Callable[[Cabinet], bool | None]


BINARY_SENSORS: tuple[BajieBinarySensorEntityDescription, ...] = (
    BajieBinarySensorEntityDescription(
        key="online",
        translation_key="online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        value_fn=lambda cabinet: cabinet.online,
    ),
    BajieBinarySensorEntityDescription(
        key="empty",
        translation_key="empty",
        value_fn=lambda cabinet: _is_zero(cabinet.rentable),
    ),
    BajieBinarySensorEntityDescription(
        key="full",
        translation_key="full",
        value_fn=lambda cabinet: _is_zero(cabinet.returnable),
    ),
    BajieBinarySensorEntityDescription(
        key="abnormal_battery",
        translation_key="abnormal_battery",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=_has_abnormal_battery,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: BajieConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of every cabinet, now and as cabinets appear."""

    def build(
        coordinator: BajieCoordinator, cabinet: Cabinet
    ) -> Iterable[BajieCabinetEntity]:
        return (
            BajieBinarySensor(coordinator, cabinet.cabinet_id, description)
            for description in BINARY_SENSORS
        )

    async_setup_cabinet_entities(
        entry.runtime_data.coordinator, async_add_entities, build
    )


class BajieBinarySensor(BajieCabinetEntity, BinarySensorEntity):
    """An on/off state a cabinet reports."""

    entity_description: BajieBinarySensorEntityDescription

    def __init__(
        self,
        coordinator: BajieCoordinator,
        cabinet_id: str,
        description: BajieBinarySensorEntityDescription,
    ) -> None:
        """Set up the binary sensor for one cabinet."""
        super().__init__(coordinator, cabinet_id)
        self.entity_description = description
        self._attr_unique_id = f"{cabinet_id}_{description.key}"

    @property
    def is_on(self) -> bool | None:
        """Return the state, or None while the cloud has not reported it."""
        cabinet = self.cabinet
        if cabinet is None:
            return None
        return self.entity_description.value_fn(cabinet)

    def _shown_value(self) -> object:
        return self.is_on
