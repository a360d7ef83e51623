"""Base entity of one cabinet: device info, availability, per-cabinet updates."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from homeassistant.core import Context, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Cabinet
from .const import DOMAIN, MANUFACTURER
from .coordinator import BajieCoordinator

MAX_ENABLED_ENTITIES = 9_000
"""Enabled entities one entry aims to stay under. Home Assistant 2026.10 adds
no more than 10,000 enabled entities per config entry."""

CORE_ENTITY_KEYS = frozenset(
    {"online", "batteries_to_rent", "free_slots", "cabinet_event"}
)
"""Entities every cabinet keeps enabled, by description key or translation key."""

ENABLED_ENTITIES_PER_CABINET = 11
"""Enabled entities of a cabinet in a small fleet, besides one eject button per
slot: 4 binary sensors, 6 sensors and the event entity."""


def is_large_fleet(fleet: Mapping[str, Cabinet]) -> bool:
    """Return whether enabling every entity would pass MAX_ENABLED_ENTITIES."""
    enabled = 1 + sum(
        ENABLED_ENTITIES_PER_CABINET + (cabinet.total_slots or 0)
        for cabinet in fleet.values()
    )
    return enabled > MAX_ENABLED_ENTITIES


def cabinet_device_info(
    cabinet: Cabinet, account_device_id: str | None = None
) -> DeviceInfo:
    """Describe the device of a cabinet, linked to its agent account's device."""
    info = DeviceInfo(
        identifiers={(DOMAIN, cabinet.cabinet_id)},
        manufacturer=MANUFACTURER,
        name=cabinet.cabinet_id,
        serial_number=cabinet.cabinet_id,
    )
    if account_device_id is not None:
        info["via_device_id"] = account_device_id
    if cabinet.total_slots is not None:
        info["model"] = f"{cabinet.total_slots}-slot cabinet"
    if cabinet.model is not None:
        info["model_id"] = cabinet.model
    if cabinet.shop_name is not None:
        info["suggested_area"] = cabinet.shop_name
    return info


class BajieCabinetEntity(Entity):
    """An entity that shows one aspect of one cabinet.

    It listens to its own cabinet only, so a push for another cabinet never
    makes it write its state.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    _shows_cabinet_data = True
    """False for an entity whose state does not come from the cabinet's data.

    Such an entity is notified only of changes to its availability, not of
    changes to the cabinet's data.
    """

    def __init__(self, coordinator: BajieCoordinator, cabinet_id: str) -> None:
        """Bind the entity to its cabinet.

        `async_setup_cabinet_entities` attaches the device info before the
        entity is added.
        """
        self.coordinator = coordinator
        self.cabinet_id = cabinet_id
        self._large_fleet = False
        self._last_written: tuple[object, ...] | None = None

    @callback
    def attach(self, device_info: DeviceInfo, *, large_fleet: bool) -> None:
        """Set what the entity shares with the other entities of its cabinet.

        One device info serves every entity of a cabinet, and whether the
        fleet is large is decided once per batch of new entities. Checked
        per entity, the fleet size made set-up time grow with the square of
        the fleet.
        """
        self._attr_device_info = device_info
        self._large_fleet = large_fleet

    @property
    def cabinet(self) -> Cabinet | None:
        """The cabinet's current state, or None once it left the fleet."""
        return self.coordinator.data.get(self.cabinet_id)

    @property
    def available(self) -> bool:
        """Whether the last poll succeeded and the cabinet is still known."""
        return self.coordinator.last_update_success and self.cabinet is not None

    @property
    def entity_registry_enabled_default(self) -> bool:
        """Enable the entity, unless a large fleet leaves room for core ones only.

        The choice is made when the entity is first registered; the user can
        enable any entity later on its settings page.
        """
        if not super().entity_registry_enabled_default:
            return False
        if self._is_core_entity:
            return True
        return not self._large_fleet

    @property
    def _is_core_entity(self) -> bool:
        description = getattr(self, "entity_description", None)
        key = description.key if description is not None else self.translation_key
        return key in CORE_ENTITY_KEYS

    async def async_added_to_hass(self) -> None:
        """Start listening to the cabinet's updates.

        Home Assistant writes the first state as soon as this method returns,
        so what the entity shows now is recorded as written. A subclass that
        restores or loads what it shows does so before calling this method.
        """
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.async_add_cabinet_listener(
                self.cabinet_id,
                self._async_cabinet_updated,
                data=self._shows_cabinet_data,
            )
        )
        self._last_written = self._shown()

    def _shown(self) -> tuple[object, ...]:
        """Return what decides a state write: availability and the shown value."""
        return (self.available, self._shown_value())

    def _shown_value(self) -> object:
        """Return what the state and attributes are computed from.

        Subclasses return their native value, with their attributes if they
        have any. Home Assistant derives the state from these, so comparing
        them is cheaper than computing the state.
        """
        return (self.state, self.extra_state_attributes)

    @callback
    def _async_cabinet_updated(self) -> None:
        """Write the state only when what the entity shows has changed."""
        shown = self._shown()
        if shown != self._last_written:
            self._write(shown)

    @callback
    def async_write_state(self) -> None:
        """Write the state and remember what it showed.

        Subclasses write through this method, never async_write_ha_state
        directly, so that the comparison above covers every write.
        """
        self._write(self._shown())

    @callback
    def _write(self, shown: tuple[object, ...]) -> None:
        self._last_written = shown
        # The writes of a push share its context, so the logbook names the
        # push as their cause.
        push_context = self.coordinator.push_context
        self.async_set_context(push_context or Context())
        self.async_write_ha_state()
        if push_context is not None:
            # Home Assistant keeps using an entity's context for 5 s in its
            # own writes, such as after a rename, so the push's is replaced.
            self.async_set_context(Context())

    async def async_update(self) -> None:
        """Refresh the fleet when the user asks for an update."""
        await self.coordinator.async_request_refresh()


type EntityFactory = Callable[[BajieCoordinator, Cabinet], Iterable[BajieCabinetEntity]]


@callback
def async_setup_cabinet_entities(
    coordinator: BajieCoordinator,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: EntityFactory,
) -> None:
    """Add a platform's entities now and for cabinets that appear later.

    The factory runs again for a cabinet only when it is new or its slot
    count changed, and only entities with an unseen unique id are added.
    """
    added_ids: dict[str, set[str]] = {}
    slot_counts: dict[str, int | None] = {}

    @callback
    def add_new_entities() -> None:
        fleet = coordinator.data
        # A cabinet that left the fleet lost its device and entities, so if
        # it comes back its entities are added again.
        for cabinet_id in [key for key in slot_counts if key not in fleet]:
            del slot_counts[cabinet_id]
            added_ids.pop(cabinet_id, None)

        new_entities: list[BajieCabinetEntity] = []
        large_fleet: bool | None = None
        for cabinet_id, cabinet in fleet.items():
            if cabinet_id in slot_counts and slot_counts[cabinet_id] == (
                cabinet.total_slots
            ):
                continue
            slot_counts[cabinet_id] = cabinet.total_slots
            if large_fleet is None:
                large_fleet = is_large_fleet(fleet)
            device_info = cabinet_device_info(cabinet, coordinator.account_device_id)
            known = added_ids.setdefault(cabinet_id, set())
            for entity in factory(coordinator, cabinet):
                unique_id = entity.unique_id
                if unique_id is None or unique_id in known:
                    continue
                known.add(unique_id)
                entity.attach(device_info, large_fleet=large_fleet)
                new_entities.append(entity)
        if new_entities:
            async_add_entities(new_entities)

    add_new_entities()
    coordinator.config_entry.async_on_unload(
        coordinator.async_add_listener(add_new_entities)
    )
