"""Fleet state of one agent account: polled from the cloud, updated by pushes."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import (
    Cabinet,
    ChargeNowApiError,
    ChargeNowAuthError,
    ChargeNowClient,
    ChargeNowError,
    ChargeNowRateLimitError,
)
from .api.push import PushEvent, apply_push
from .const import DEFAULT_SCAN_INTERVAL, DOMAIN

_LOGGER = logging.getLogger(__name__)

type Fleet = dict[str, Cabinet]
type BajieConfigEntry = ConfigEntry[BajieRuntimeData]


@dataclass(slots=True)
class BajieRuntimeData:
    """What one loaded config entry keeps while it runs."""

    client: ChargeNowClient
    coordinator: BajieCoordinator
    webhook_id: str


class BajieCoordinator(DataUpdateCoordinator[Fleet]):
    """Polls the fleet listing and applies pushed events to single cabinets.

    Entities listen per cabinet: a push for one cabinet writes only that
    cabinet's entities, and a poll writes only the cabinets whose data
    changed, or all of them when the cloud became unreachable or came back.
    """

    config_entry: BajieConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: BajieConfigEntry, client: ChargeNowClient
    ) -> None:
        """Set up polling for the entry's account."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=DOMAIN,
            update_interval=DEFAULT_SCAN_INTERVAL,
        )
        self.client = client
        self.last_push: datetime | None = None
        self._cabinet_listeners: defaultdict[str, list[CALLBACK_TYPE]] = defaultdict(
            list
        )
        self._slot_locks: dict[tuple[str, int], asyncio.Lock] = {}
        self.eject_accepted_at: dict[tuple[str, int], float] = {}
        """Monotonic time of the last eject the cloud accepted, per slot."""
        self._notified: Fleet = {}
        self._notified_success: bool | None = None

    async def _async_update_data(self) -> Fleet:
        """Fetch the fleet listing and merge it with what pushes told."""
        try:
            listed = await self.client.async_list_cabinets()
        except ChargeNowAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed"
            ) from err
        except ChargeNowRateLimitError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="rate_limited",
                retry_after=err.retry_after,
            ) from err
        except ChargeNowApiError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cloud_error",
                translation_placeholders={
                    "code": str(err.code),
                    "message": err.message,
                },
            ) from err
        except ChargeNowError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err) or type(err).__name__},
            ) from err

        previous = self.data or {}
        fleet: Fleet = {}
        for cabinet in listed:
            known = previous.get(cabinet.cabinet_id)
            if known is not None and cabinet.batteries is None:
                # The listing carries no battery list; keep what pushes told.
                fleet[cabinet.cabinet_id] = replace(cabinet, batteries=known.batteries)
            else:
                fleet[cabinet.cabinet_id] = cabinet
        # A cabinet missing from one listing is kept: an empty or partial
        # listing must not make devices vanish.
        for cabinet_id, cabinet in previous.items():
            fleet.setdefault(cabinet_id, cabinet)
        return fleet

    def slot_lock(self, cabinet_id: str, slot: int) -> asyncio.Lock:
        """Return the lock that keeps one command per slot in flight."""
        return self._slot_locks.setdefault((cabinet_id, slot), asyncio.Lock())

    @callback
    def async_add_cabinet_listener(
        self, cabinet_id: str, update_callback: CALLBACK_TYPE
    ) -> CALLBACK_TYPE:
        """Call update_callback whenever this cabinet's state may have changed."""
        listeners = self._cabinet_listeners[cabinet_id]
        listeners.append(update_callback)

        @callback
        def remove_listener() -> None:
            listeners.remove(update_callback)
            if not listeners:
                del self._cabinet_listeners[cabinet_id]

        return remove_listener

    @callback
    def async_update_listeners(self) -> None:
        """Notify the cabinets whose data or availability changed, then the rest."""
        fleet = self.data or {}
        if self.last_update_success != self._notified_success:
            changed: list[str] = list(self._cabinet_listeners)
        else:
            changed = [
                cabinet_id
                for cabinet_id in self._cabinet_listeners
                if fleet.get(cabinet_id) != self._notified.get(cabinet_id)
            ]
        self._notified_success = self.last_update_success
        self._notified = dict(fleet)
        for cabinet_id in changed:
            self._notify_cabinet(cabinet_id)
        super().async_update_listeners()

    @callback
    def _notify_cabinet(self, cabinet_id: str) -> None:
        for update_callback in list(self._cabinet_listeners.get(cabinet_id, ())):
            update_callback()

    @callback
    def async_apply_push(self, event: PushEvent) -> None:
        """Apply a validated push to its cabinet and notify that cabinet only."""
        self.last_push = dt_util.utcnow()
        fleet = self.data
        cabinet = fleet.get(event.cabinet_id) if fleet is not None else None
        if fleet is None or cabinet is None:
            _LOGGER.debug(
                "Push %s for unknown cabinet %s, refreshing the fleet",
                event.kind,
                event.cabinet_id,
            )
            self.config_entry.async_create_background_task(
                self.hass, self.async_request_refresh(), "bajie_charging refresh"
            )
            return

        updated = apply_push(cabinet, event)
        if updated == cabinet:
            return
        fleet[event.cabinet_id] = updated
        self._notified[event.cabinet_id] = updated
        self._notify_cabinet(event.cabinet_id)
