"""Event entity of a cabinet: one event per push, typed by the push kind."""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Cabinet
from .cabinet_events import EVENT_TYPES, CabinetEvent
from .coordinator import BajieConfigEntry, BajieCoordinator
from .entity import BajieCabinetEntity, async_setup_cabinet_entities

# Entities only read the coordinator's state, so updates need no limit.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: BajieConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the event entity of every cabinet, now and as cabinets appear."""

    def build(
        coordinator: BajieCoordinator, cabinet: Cabinet
    ) -> list[BajieCabinetEntity]:
        return [BajieCabinetEventEntity(coordinator, cabinet.cabinet_id)]

    async_setup_cabinet_entities(
        entry.runtime_data.coordinator, async_add_entities, build
    )


class BajieCabinetEventEntity(BajieCabinetEntity, EventEntity):
    """The latest event a cabinet pushed, with its cleaned data as attributes."""

    _attr_translation_key = "cabinet_event"
    _shows_cabinet_data = False

    def __init__(self, coordinator: BajieCoordinator, cabinet_id: str) -> None:
        """Set up the event entity for one cabinet."""
        super().__init__(coordinator, cabinet_id)
        self._attr_unique_id = f"{cabinet_id}_event"
        self._attr_event_types = list(EVENT_TYPES)

    async def async_added_to_hass(self) -> None:
        """Start listening to the cabinet's events."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.async_add_cabinet_event_listener(
                self.cabinet_id, self._handle_cabinet_event
            )
        )

    def _shown_value(self) -> object:
        # The state changes only with an event, which always writes it.
        return None

    @callback
    def _handle_cabinet_event(self, event: CabinetEvent) -> None:
        self._trigger_event(event.event_type, dict(event.data))
        self.async_write_state()
