"""Sensors of a cabinet: counters, signal, last event and the battery in each slot."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Battery, Cabinet
from .api.push import FaultReason, fault_reason, is_abnormal
from .cabinet_events import CabinetEvent
from .const import DOMAIN
from .coordinator import BajieConfigEntry, BajieCoordinator
from .entity import BajieCabinetEntity, async_setup_cabinet_entities

# Entities only read the coordinator's state, so updates need no limit.
PARALLEL_UPDATES = 0

NO_FAULT = "none"
"""State of a slot's fault sensor while its battery reports no fault."""


def _abnormal_count(cabinet: Cabinet) -> int | None:
    if cabinet.batteries is None:
        return None
    return sum(1 for battery in cabinet.batteries if is_abnormal(battery))


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
    BajieSensorEntityDescription(
        key="abnormal_batteries",
        translation_key="abnormal_batteries",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=_abnormal_count,
    ),
)


def _slot_fault(battery: Battery) -> str:
    if not is_abnormal(battery):
        return NO_FAULT
    return fault_reason(battery.fault_type).value


def _fault_attributes(battery: Battery) -> dict[str, Any]:
    return {"fault_type": battery.fault_type, "fault_cause": battery.fault_cause}


@dataclass(frozen=True, kw_only=True)
class BajieSlotSensorEntityDescription(SensorEntityDescription):
    """Describes a sensor of one slot and how to read it from the slot's battery."""

    value_fn: Callable[[Battery], int | str | None]
    attributes_fn: Callable[[Battery], dict[str, Any]]


# Many slots make many entities, so they start disabled.
SLOT_SENSORS: tuple[BajieSlotSensorEntityDescription, ...] = (
    BajieSlotSensorEntityDescription(
        key="charge",
        translation_key="slot_charge",
        device_class=SensorDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_registry_enabled_default=False,
        value_fn=lambda battery: battery.charge,
        attributes_fn=lambda battery: {"battery_id": battery.battery_id},
    ),
    BajieSlotSensorEntityDescription(
        key="fault",
        translation_key="slot_fault",
        device_class=SensorDeviceClass.ENUM,
        options=[NO_FAULT, *(reason.value for reason in FaultReason)],
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_slot_fault,
        attributes_fn=_fault_attributes,
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
        cabinet_id = cabinet.cabinet_id
        entities: list[BajieCabinetEntity] = [
            BajieSensor(coordinator, cabinet_id, description) for description in SENSORS
        ]
        entities.append(BajieLastEventSensor(coordinator, cabinet_id))
        for slot in range(1, (cabinet.total_slots or 0) + 1):
            entities.extend(
                BajieSlotSensor(coordinator, cabinet_id, slot, description)
                for description in SLOT_SENSORS
            )
        return entities

    coordinator = entry.runtime_data.coordinator
    async_add_entities([BajieUpdateModeSensor(coordinator)])
    async_setup_cabinet_entities(coordinator, async_add_entities, build)


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

    def _shown_value(self) -> object:
        return self.native_value


class BajieSlotSensor(BajieCabinetEntity, SensorEntity):
    """The battery in one slot, as status reports and battery events left it."""

    entity_description: BajieSlotSensorEntityDescription

    def __init__(
        self,
        coordinator: BajieCoordinator,
        cabinet_id: str,
        slot: int,
        description: BajieSlotSensorEntityDescription,
    ) -> None:
        """Set up the sensor for one slot."""
        super().__init__(coordinator, cabinet_id)
        self.entity_description = description
        self.slot = slot
        self._attr_unique_id = f"{cabinet_id}_slot_{slot}_{description.key}"
        self._attr_translation_placeholders = {"slot": str(slot)}

    @property
    def battery(self) -> Battery | None:
        """The battery in the slot; None when the slot is empty or not known."""
        cabinet = self.cabinet
        if cabinet is None or cabinet.batteries is None:
            return None
        return next(
            (battery for battery in cabinet.batteries if battery.slot == self.slot),
            None,
        )

    @property
    def native_value(self) -> int | str | None:
        """Return the value, or None for an empty slot or an unknown battery list."""
        battery = self.battery
        if battery is None:
            return None
        return self.entity_description.value_fn(battery)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the battery id or fault details of the slot's battery."""
        battery = self.battery
        if battery is None:
            return None
        return self.entity_description.attributes_fn(battery)

    def _shown_value(self) -> object:
        return (self.native_value, self.extra_state_attributes)


class BajieLastEventSensor(BajieCabinetEntity, RestoreSensor):
    """When the cabinet's latest event happened, kept across restarts."""

    _attr_translation_key = "last_event"
    _attr_device_class = SensorDeviceClass.TIMESTAMP
    _shows_cabinet_data = False

    def __init__(self, coordinator: BajieCoordinator, cabinet_id: str) -> None:
        """Set up the sensor for one cabinet."""
        super().__init__(coordinator, cabinet_id)
        self._attr_unique_id = f"{cabinet_id}_last_event"
        self._restored: datetime | None = None

    async def async_added_to_hass(self) -> None:
        """Restore the last value and start listening to the cabinet's events."""
        # Restored first, so that the base class records the restored time as
        # the first state written.
        restored = await self.async_get_last_sensor_data()
        if restored is not None and isinstance(restored.native_value, datetime):
            self._restored = restored.native_value
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.async_add_cabinet_event_listener(
                self.cabinet_id, self._handle_cabinet_event
            )
        )

    @property
    def native_value(self) -> datetime | None:
        """Return the time of the newest event, restored ones included."""
        latest = self.coordinator.last_event_times.get(self.cabinet_id)
        if latest is None or (self._restored is not None and self._restored > latest):
            return self._restored
        return latest

    def _shown_value(self) -> object:
        return self.native_value

    @callback
    def _handle_cabinet_event(self, event: CabinetEvent) -> None:
        # A late event, or one in the same second, leaves the time as it is.
        self._async_cabinet_updated()


class BajieUpdateModeSensor(SensorEntity):
    """Whether the account's cabinets followed pushes or polling at the last poll.

    It belongs to the agent account's device and is written after polls only,
    so that a push writes nothing but its own cabinet's entities.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "update_mode"
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, coordinator: BajieCoordinator) -> None:
        """Attach the sensor to the account's device."""
        self.coordinator = coordinator
        entry_id = coordinator.config_entry.entry_id
        self._attr_unique_id = f"{entry_id}_update_mode"
        self._attr_options = ["push", "polling"]
        self._last_written: object = None
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, entry_id)})

    @property
    def native_value(self) -> str:
        """Return push while pushes arrive, polling otherwise."""
        return "push" if self.coordinator.pushes_arrive else "polling"

    async def async_added_to_hass(self) -> None:
        """Write the state after a poll that changed it."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.async_add_listener(self._async_polled))
        # Home Assistant writes the first state as soon as this method returns.
        self._last_written = self.state

    @callback
    def _async_polled(self) -> None:
        if self.state != self._last_written:
            self._last_written = self.state
            self.async_write_ha_state()
