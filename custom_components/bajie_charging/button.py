"""Buttons of a cabinet: eject the battery of one slot."""

from __future__ import annotations

from collections.abc import Iterable
import logging

from homeassistant.components.button import ButtonEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Cabinet
from .commands import async_eject
from .coordinator import BajieConfigEntry, BajieCoordinator
from .entity import BajieCabinetEntity, async_setup_cabinet_entities

_LOGGER = logging.getLogger(__name__)

# Presses are not queued: commands guard each slot themselves and reject a
# press while an eject of that slot is in flight, where a queue would send
# a double press twice.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: BajieConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one eject button per slot of every cabinet."""

    def build(
        coordinator: BajieCoordinator, cabinet: Cabinet
    ) -> Iterable[BajieCabinetEntity]:
        return (
            BajieEjectButton(coordinator, cabinet.cabinet_id, slot)
            for slot in range(1, (cabinet.total_slots or 0) + 1)
        )

    async_setup_cabinet_entities(
        entry.runtime_data.coordinator, async_add_entities, build
    )


class BajieEjectButton(BajieCabinetEntity, ButtonEntity):
    """Ejects the battery of one slot for maintenance (eject by repair)."""

    _attr_translation_key = "eject_slot"
    _shows_cabinet_data = False

    def __init__(
        self, coordinator: BajieCoordinator, cabinet_id: str, slot: int
    ) -> None:
        """Set up the button of one slot."""
        super().__init__(coordinator, cabinet_id)
        self.slot = slot
        self._attr_unique_id = f"{cabinet_id}_eject_slot_{slot}"
        self._attr_translation_placeholders = {"slot": str(slot)}

    def _shown_value(self) -> object:
        # The state is the time of the last press, which Home Assistant writes.
        return None

    @property
    def available(self) -> bool:
        """Whether the cabinet is known and still has this slot."""
        if not super().available:
            return False
        total_slots = self.coordinator.data[self.cabinet_id].total_slots
        return total_slots is None or self.slot <= total_slots

    async def async_press(self) -> None:
        """Send one eject-by-repair command for this slot, never retried.

        The command itself rejects a slot the cabinet no longer has.
        """
        await async_eject(self.coordinator, self.cabinet_id, self.slot)
