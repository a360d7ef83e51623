"""Fleet state of one agent account: polled from the cloud, updated by pushes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_call_later
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
from .api.push import PushEvent, PushKind, RecentPushes, apply_push
from .cabinet_events import CabinetEvent, build_event_data, event_time, event_type_of
from .const import DOMAIN, EVENT_CABINET
from .held_pushes import DropReason, HeldPush, HeldPushes
from .options import cloud_time_zone, is_included, poll_interval

_LOGGER = logging.getLogger(__name__)

type Fleet = dict[str, Cabinet]
type BajieConfigEntry = ConfigEntry[BajieRuntimeData]
type CabinetEventListener = Callable[[CabinetEvent], None]

STALE_AFTER_POLLS = 3
"""A cabinet missing from this many successful listings in a row is removed."""

MAX_LOGGED_UNKNOWN_KINDS = 64
"""Number of unknown push kinds logged, once each. Later new kinds are not logged."""

STATE_KINDS = frozenset(PushKind) - {PushKind.ADMIN_RENTAL_ORDER}
"""Push kinds that report cabinet state; an administrator's order reports none."""

PUSH_WINDOW_END_MARGIN = timedelta(seconds=1)
"""Wait past the end of the last push's window, so that the window has ended."""

HELD_PUSH_WAIT = timedelta(seconds=5)
"""Delay before the held pushes of a newly listed cabinet are applied when no
entity takes its events yet, so that entities still being added get them."""

_UNLISTED = object()


def _slots_or_unlisted(fleet: Mapping[str, Cabinet], cabinet_id: str) -> object:
    """Return what a cabinet's availability-only entities depend on."""
    cabinet = fleet.get(cabinet_id)
    return _UNLISTED if cabinet is None else cabinet.total_slots


@dataclass(slots=True)
class BajieRuntimeData:
    """Runtime data of one loaded config entry."""

    client: ChargeNowClient
    coordinator: BajieCoordinator


class BajieCoordinator(DataUpdateCoordinator[Fleet]):
    """Polls the fleet listing and applies pushed events to single cabinets.

    Entities listen per cabinet: a push for one cabinet writes only that
    cabinet's entities, and a poll writes only the cabinets whose data
    changed, or all of them when the cloud became unreachable or came back.

    Every push that is not a resend becomes a `CabinetEvent`: it is fired on
    the bus as `EVENT_CABINET`, then applied to the cabinet's state, then
    handed to the cabinet's event listeners. A push older than the last push
    applied to its cabinet is still fired but leaves the cabinet's state
    alone, so a late push cannot roll it back. A push for a cabinet not in
    the fleet yet is held (see `held_pushes`) until a refresh lists it.
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
            update_interval=poll_interval(entry.options, pushes_arrive=False),
        )
        self.client = client
        self.account_device_id: str | None = None
        """Registry id of the agent account's device, which cabinets link to."""
        self.last_push: datetime | None = None
        self.push_context: Context | None = None
        """Context of the push being applied; None outside of a push."""
        # Options changes reload the entry, so the window stays valid.
        self._push_window = poll_interval(entry.options, pushes_arrive=True)
        self._cabinet_listeners: defaultdict[str, list[CALLBACK_TYPE]] = defaultdict(
            list
        )
        """Listeners to any change of a cabinet's data or availability."""
        self._availability_listeners: defaultdict[str, list[CALLBACK_TYPE]] = (
            defaultdict(list)
        )
        """Listeners to a change of a cabinet's availability only."""
        self._notified: Fleet = {}
        self._notified_success: bool | None = None
        self._event_listeners: defaultdict[str, list[CabinetEventListener]] = (
            defaultdict(list)
        )
        self._recent_pushes = RecentPushes()
        self._state_times: dict[str, datetime] = {}
        """Cloud time of the newest push applied to each cabinet's state, in UTC."""
        self.last_event_times: dict[str, datetime] = {}
        """Time of the newest event of each cabinet since the entry loaded, in UTC."""
        self._logged_unknown_kinds: set[str] = set()
        self._missing_polls: dict[str, int] = {}
        """Successful listings in a row that did not name a known cabinet."""
        self._excluded_ids: set[str] = set()
        """Cabinets of the account that the options' filters leave out."""
        self.listed_cabinets: dict[str, str | None] = {}
        """Shop name of each cabinet of the last non-empty listing, filters aside."""
        self.listed_shops: dict[str, str | None] = {}
        """Name of each shop of the last non-empty listing, filters aside."""
        self._held_pushes = HeldPushes()
        self._held_waits: dict[str, CALLBACK_TYPE] = {}
        """Cancel callbacks of the waits of newly listed cabinets' held pushes."""
        self._held_drop_logged = False
        self._listings_started = 0
        self._listed = 0
        """Number of the newest successful fleet listing, counted from 1 as started."""
        self._push_window_timer: CALLBACK_TYPE | None = None
        """Cancel callback of the check at the end of the last push's window."""
        self._unloaded = False
        entry.async_on_unload(self._async_stop_push_window_checks)
        self._pushed_since: dict[str, int] = {}
        """Listing count when a push last reported each cabinet's state."""
        entry.async_on_unload(self._drop_held_pushes)

    @property
    def pushes_arrive(self) -> bool:
        """Whether a push arrived within the poll interval for push mode."""
        if self.last_push is None:
            return False
        return dt_util.utcnow() - self.last_push < self._push_window

    @callback
    def _async_update_poll_interval(self) -> None:
        """Poll rarely while pushes arrive and often while they do not.

        While pushes arrive, a check is due when the last push's window ends,
        because the next poll may be up to a slow interval after that.
        """
        pushes_arrive = self.pushes_arrive
        interval = poll_interval(self.config_entry.options, pushes_arrive=pushes_arrive)
        if interval != self.update_interval:
            _LOGGER.debug(
                "Polling every %s now that pushes %s",
                interval,
                "arrive" if pushes_arrive else "stopped",
            )
            self.update_interval = interval
        self._cancel_push_window_timer()
        # A listing still running when the entry unloads ends here too.
        if pushes_arrive and self.last_push is not None and not self._unloaded:
            window_end = self.last_push + self._push_window - dt_util.utcnow()
            self._push_window_timer = async_call_later(
                self.hass,
                window_end + PUSH_WINDOW_END_MARGIN,
                self._async_push_window_ended,
            )

    @callback
    def _retry_soon(self) -> None:
        """Poll again after the short interval, whether pushes arrive or not.

        A failed poll makes every entity unavailable until a poll succeeds,
        and pushes do not change that.
        """
        self.update_interval = poll_interval(
            self.config_entry.options, pushes_arrive=False
        )

    @callback
    def _async_push_window_ended(self, _now: datetime) -> None:
        """Poll soon, and then often, if no push arrived in the window."""
        self._push_window_timer = None
        self._async_update_poll_interval()
        if not self.pushes_arrive:
            self.config_entry.async_create_background_task(
                self.hass, self.async_request_refresh(), "bajie_charging pushes stopped"
            )

    @callback
    def _async_stop_push_window_checks(self) -> None:
        """Cancel the check at the end of the push window, for good."""
        self._unloaded = True
        self._cancel_push_window_timer()

    @callback
    def _cancel_push_window_timer(self) -> None:
        if self._push_window_timer is not None:
            self._push_window_timer()
            self._push_window_timer = None

    async def _async_update_data(self) -> Fleet:
        """Fetch the fleet listing and merge it with the state pushes reported."""
        self._listings_started += 1
        listing = self._listings_started
        try:
            listed = await self.client.async_list_cabinets()
        except ChargeNowAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed"
            ) from err
        except ChargeNowRateLimitError as err:
            # A Retry-After shorter than the poll interval must not make the
            # next poll come sooner than usual.
            retry_after = err.retry_after
            if retry_after is not None and self.update_interval is not None:
                retry_after = max(retry_after, self.update_interval.total_seconds())
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="rate_limited",
                retry_after=retry_after,
            ) from err
        except ChargeNowApiError as err:
            self._retry_soon()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cloud_error",
                translation_placeholders={
                    "code": str(err.code),
                    "message": err.message,
                },
            ) from err
        except ChargeNowError as err:
            self._retry_soon()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err) or type(err).__name__},
            ) from err

        self._listed = max(self._listed, listing)
        self._async_update_poll_interval()
        options = self.config_entry.options
        included = [cabinet for cabinet in listed if is_included(cabinet, options)]
        self._excluded_ids = {cabinet.cabinet_id for cabinet in listed} - {
            cabinet.cabinet_id for cabinet in included
        }
        if listed:
            self._remember_listing(listed)

        previous = self.data or {}
        fleet: Fleet = {}
        for cabinet in included:
            known = previous.get(cabinet.cabinet_id)
            if (
                known is not None
                and self._pushed_since.get(cabinet.cabinet_id, 0) >= listing
            ):
                # A push applied after this listing was requested is newer
                # than the listing's values, so the pushed state stays until
                # the next listing.
                fleet[cabinet.cabinet_id] = known
            elif known is not None and cabinet.batteries is None:
                # The listing carries no battery list, so keep the one pushes reported.
                fleet[cabinet.cabinet_id] = replace(cabinet, batteries=known.batteries)
            else:
                fleet[cabinet.cabinet_id] = cabinet

        self._async_drop_stale_cabinets(previous, fleet, listed_any=bool(listed))
        self._pushed_since = {
            cabinet_id: pushed_since
            for cabinet_id, pushed_since in self._pushed_since.items()
            if pushed_since > listing
        }
        return fleet

    @callback
    def _remember_listing(self, listed: list[Cabinet]) -> None:
        """Keep the ids and shop names of a listing for the options flow.

        Only ids and names are kept, not whole cabinets, so that a large fleet
        costs little memory.
        """
        self.listed_cabinets = {
            cabinet.cabinet_id: cabinet.shop_name for cabinet in listed
        }
        shops: dict[str, str | None] = {}
        for cabinet in listed:
            if cabinet.shop_id is not None and shops.get(cabinet.shop_id) is None:
                shops[cabinet.shop_id] = cabinet.shop_name
        self.listed_shops = shops

    @callback
    def _async_drop_stale_cabinets(
        self, previous: Fleet, fleet: Fleet, *, listed_any: bool
    ) -> None:
        """Keep cabinets missing from one listing; remove those gone for good.

        A known cabinet is one in the last data or with a device of this
        entry. When it is missing from the listing, it stays in `fleet` until
        STALE_AFTER_POLLS successful listings in a row lacked it, and then
        its device is removed.
        An empty listing counts for nothing, so a cloud glitch never removes
        the whole fleet. A cabinet the options' filters leave out goes at once.
        """
        registry = dr.async_get(self.hass)
        entry_id = self.config_entry.entry_id
        devices: dict[str, dr.DeviceEntry] = {}
        for device in dr.async_entries_for_config_entry(registry, entry_id):
            if device.id == self.account_device_id:
                continue
            for domain, cabinet_id in device.identifiers:
                if domain == DOMAIN:
                    devices[cabinet_id] = device

        for cabinet_id in previous.keys() | devices.keys():
            if cabinet_id in fleet:
                self._missing_polls.pop(cabinet_id, None)
                continue
            if cabinet_id not in self._excluded_ids:
                if listed_any:
                    self._missing_polls[cabinet_id] = (
                        self._missing_polls.get(cabinet_id, 0) + 1
                    )
                if self._missing_polls.get(cabinet_id, 0) < STALE_AFTER_POLLS:
                    if cabinet_id in previous:
                        fleet[cabinet_id] = previous[cabinet_id]
                    continue

            self._missing_polls.pop(cabinet_id, None)
            if cabinet_id in devices:
                _LOGGER.info("Removing cabinet %s, which left the fleet", cabinet_id)
                registry.async_remove_device(devices[cabinet_id].id)

    @callback
    def async_add_cabinet_listener(
        self,
        cabinet_id: str,
        update_callback: CALLBACK_TYPE,
        *,
        data: bool = True,
    ) -> CALLBACK_TYPE:
        """Call update_callback whenever this cabinet's state may have changed.

        With `data=False` it is called only when the cabinet's availability
        may have changed: after a poll that failed or recovered, when the
        cabinet was added or removed, and when its slot count changed, which
        decides whether a slot's eject button is available.
        """
        by_cabinet = self._cabinet_listeners if data else self._availability_listeners
        listeners = by_cabinet[cabinet_id]
        listeners.append(update_callback)

        @callback
        def remove_listener() -> None:
            listeners.remove(update_callback)
            if not listeners:
                del by_cabinet[cabinet_id]

        return remove_listener

    @callback
    def async_update_listeners(self) -> None:
        """Notify the cabinets whose data or availability changed, then the rest."""
        fleet = self.data or {}
        success_changed = self.last_update_success != self._notified_success
        notified = self._notified
        self._notified_success = self.last_update_success
        self._notified = dict(fleet)

        for cabinet_id in list(self._cabinet_listeners):
            if success_changed or fleet.get(cabinet_id) != notified.get(cabinet_id):
                self._notify_cabinet(cabinet_id)
        for cabinet_id in list(self._availability_listeners):
            if success_changed or _slots_or_unlisted(
                fleet, cabinet_id
            ) != _slots_or_unlisted(notified, cabinet_id):
                self._notify_cabinet(cabinet_id, self._availability_listeners)
        super().async_update_listeners()
        if self._held_pushes and self.last_update_success:
            self._settle_held_pushes(fleet)

    @callback
    def _notify_cabinet(
        self,
        cabinet_id: str,
        by_cabinet: Mapping[str, list[CALLBACK_TYPE]] | None = None,
    ) -> None:
        """Call the cabinet's listeners, by default those to any change.

        A listener that raises is logged, and the others are still called.
        """
        if by_cabinet is None:
            by_cabinet = self._cabinet_listeners
        for update_callback in list(by_cabinet.get(cabinet_id, ())):
            try:
                update_callback()
            except Exception:
                _LOGGER.exception(
                    "Failed to update an entity of cabinet %s", cabinet_id
                )

    @callback
    def async_add_cabinet_event_listener(
        self, cabinet_id: str, event_callback: CabinetEventListener
    ) -> CALLBACK_TYPE:
        """Call event_callback with every new event of this cabinet."""
        listeners = self._event_listeners[cabinet_id]
        listeners.append(event_callback)

        @callback
        def remove_listener() -> None:
            listeners.remove(event_callback)
            if not listeners:
                del self._event_listeners[cabinet_id]

        return remove_listener

    @callback
    def async_apply_push(self, push: PushEvent) -> None:
        """Apply a validated push to its cabinet and announce it as an event.

        Only the cabinet's own entities are notified. A resent push changes
        nothing and fires nothing. A push for a cabinet that the fleet does
        not have yet is held, and the fleet is refreshed: if the refresh
        adds the cabinet, the push is applied then.
        """
        received = dt_util.utcnow()
        pushes_arrived = self.pushes_arrive
        self.last_push = received
        if not pushes_arrived:
            self._async_update_poll_interval()
        if push.cabinet_id in self._excluded_ids:
            _LOGGER.debug(
                "Ignored push %s for cabinet %s, which the options leave out",
                push.kind,
                push.cabinet_id,
            )
            return
        fleet = self.data
        # Pushes of a cabinet with held ones queue behind them, to keep order.
        if (
            fleet is None
            or push.cabinet_id not in fleet
            or push.cabinet_id in self._held_pushes
        ):
            self._hold_push(push, received)
            return
        self._apply_to_known_cabinet(fleet, push, received)

    @callback
    def _apply_to_known_cabinet(
        self,
        fleet: Fleet,
        push: PushEvent,
        received: datetime,
        *,
        listed_since: bool = False,
        listings_started: int | None = None,
    ) -> None:
        """Build the push's event and apply it, unless the push is a resend.

        With `listed_since`, a fleet listing started after the push arrived,
        so the push is announced but leaves the cabinet's state alone.
        `listings_started` is the number of listings started when the push
        arrived, if not now.
        """
        if not self._recent_pushes.remember(push):
            _LOGGER.debug(
                "Ignored a resent push %s for cabinet %s", push.kind, push.cabinet_id
            )
            return
        if not push.is_known_kind:
            self._log_unknown_kind(push.kind)

        zone = cloud_time_zone(self.config_entry.options)
        happened, from_cloud = event_time(push, zone, received)
        instant = happened.astimezone(dt_util.UTC)
        stale = listed_since or not self._claim_state_time(
            push, instant if from_cloud else None
        )
        last_event = self.last_event_times.get(push.cabinet_id)
        if last_event is None or instant > last_event:
            self.last_event_times[push.cabinet_id] = instant
        event = CabinetEvent(
            cabinet_id=push.cabinet_id,
            event_type=event_type_of(push.kind),
            time=happened,
            stale=stale,
            data=build_event_data(push, happened, zone),
        )
        if listings_started is None:
            listings_started = self._listings_started
        self._apply_and_announce(fleet, push, event, listings_started)

    @callback
    def _hold_push(self, push: PushEvent, received: datetime) -> None:
        """Hold a push for a cabinet not in the fleet yet and refresh the fleet."""
        cabinet_id = push.cabinet_id
        dropped = self._held_pushes.add(
            HeldPush(push, received, self._listings_started)
        )
        if dropped is not None:
            self._log_held_drop(*dropped)
            if dropped[0] is push:
                return
        if self.data is not None and cabinet_id in self.data:
            # The cabinet is listed, so its pushes wait for its entities.
            return
        _LOGGER.debug(
            "Holding push %s for unknown cabinet %s and refreshing the fleet",
            push.kind,
            cabinet_id,
        )
        if isinstance(self.last_exception, UpdateFailed) and isinstance(
            self.last_exception.__cause__, ChargeNowRateLimitError
        ):
            # The next poll comes after the cloud's Retry-After.
            return
        # The refresh debouncer runs at most one listing per cooldown, so
        # pushes for many unknown cabinets do not flood the cloud.
        self.config_entry.async_create_background_task(
            self.hass, self.async_request_refresh(), "bajie_charging refresh"
        )

    @callback
    def _log_held_drop(self, push: PushEvent, reason: DropReason) -> None:
        """Log a push that was dropped instead of held, or to make room.

        The first push dropped at a limit is a warning, because its event is
        lost. Resends and later drops are logged at debug level.
        """
        if reason is DropReason.RESENT or self._held_drop_logged:
            _LOGGER.debug(
                "Dropped push %s for cabinet %s, which is not known yet (%s)",
                push.kind,
                push.cabinet_id,
                reason,
            )
            return
        self._held_drop_logged = True
        _LOGGER.warning(
            "Dropped push %s for cabinet %s, which is not known yet (%s); "
            "further drops are logged at debug level",
            push.kind,
            push.cabinet_id,
            reason,
        )

    @callback
    def _settle_held_pushes(self, fleet: Fleet) -> None:
        """Apply or drop held pushes after a successful refresh.

        The pushes of a listed cabinet are applied at once if entities take
        its events, which the refresh has added unless they are disabled.
        Otherwise they are applied after HELD_PUSH_WAIT. Each push is fired
        in order, but one that arrived before a successful listing started
        leaves the listed state alone. The pushes of a cabinet that this
        listing lacks are dropped if they arrived before it started.
        """
        for cabinet_id in self._held_pushes.cabinet_ids:
            if cabinet_id in fleet:
                if cabinet_id in self._event_listeners:
                    self._replay_held_pushes(cabinet_id)
                elif cabinet_id not in self._held_waits:
                    self._held_waits[cabinet_id] = async_call_later(
                        self.hass,
                        HELD_PUSH_WAIT,
                        partial(self._replay_after_wait, cabinet_id),
                    )
                continue
            if dropped := self._held_pushes.drop_listed(cabinet_id, self._listed):
                _LOGGER.debug(
                    "Dropped %s pushes for cabinet %s, which the fleet listing "
                    "does not have",
                    dropped,
                    cabinet_id,
                )

    @callback
    def _replay_after_wait(self, cabinet_id: str, _now: datetime) -> None:
        self._replay_held_pushes(cabinet_id)

    @callback
    def _replay_held_pushes(self, cabinet_id: str) -> None:
        """Apply the held pushes of a cabinet that is now in the fleet."""
        if (cancel := self._held_waits.pop(cabinet_id, None)) is not None:
            cancel()
        pushes = self._held_pushes.pop(cabinet_id)
        fleet = self.data
        if not pushes or fleet is None or cabinet_id not in fleet:
            return
        _LOGGER.debug("Applying %s held pushes for cabinet %s", len(pushes), cabinet_id)
        for item in pushes:
            self._apply_to_known_cabinet(
                fleet,
                item.push,
                item.received,
                listed_since=item.listings_started < self._listed,
                listings_started=item.listings_started,
            )

    @callback
    def _drop_held_pushes(self) -> None:
        """Drop every held push and stop the waits, when the entry unloads."""
        for cancel in self._held_waits.values():
            cancel()
        self._held_waits.clear()
        self._held_pushes.clear()

    @callback
    def _apply_and_announce(
        self,
        fleet: Fleet,
        push: PushEvent,
        event: CabinetEvent,
        listings_started: int,
    ) -> None:
        """Fire the event, apply the push unless stale, then call event listeners.

        The bus event is fired first, so it becomes the origin of the push's
        context, which the logbook names as the cause of the state changes
        written with the same context.
        """
        # NOTE: a listener of EVENT_CABINET that runs at once (a callback, or
        # a coroutine until its first await) still reads the cabinet's old
        # state. Automations and device triggers start later and read the
        # new one.
        context = Context()
        self._fire(event, context)
        self.push_context = context
        try:
            if not event.stale:
                if push.kind in STATE_KINDS:
                    # The push reports the cabinet's state as newer than any
                    # listing started before it, even where nothing changed.
                    self._pushed_since[push.cabinet_id] = listings_started
                cabinet = fleet[push.cabinet_id]
                updated = apply_push(cabinet, push)
                if updated != cabinet:
                    fleet[push.cabinet_id] = updated
                    self._notified[push.cabinet_id] = updated
                    self._notify_cabinet(push.cabinet_id)
                    if updated.total_slots != cabinet.total_slots:
                        self._notify_cabinet(
                            push.cabinet_id, self._availability_listeners
                        )
            for event_callback in list(self._event_listeners.get(push.cabinet_id, ())):
                try:
                    event_callback(event)
                except Exception:
                    _LOGGER.exception(
                        "Failed to pass an event to an entity of cabinet %s",
                        push.cabinet_id,
                    )
        finally:
            self.push_context = None

    @callback
    def _claim_state_time(self, push: PushEvent, cloud_time: datetime | None) -> bool:
        """Record the push's cloud time unless it is older than the state's.

        Returns whether the push may change its cabinet's state. Only pushes
        with a cloud timestamp take part in the ordering: a push without one
        may always change the state and moves no state time.
        """
        if cloud_time is None:
            return True
        applied_until = self._state_times.get(push.cabinet_id)
        if applied_until is not None and cloud_time < applied_until:
            _LOGGER.debug(
                "Push %s for cabinet %s from %s is older than its state, not applied",
                push.kind,
                push.cabinet_id,
                cloud_time,
            )
            return False
        self._state_times[push.cabinet_id] = cloud_time
        return True

    @callback
    def _fire(self, event: CabinetEvent, context: Context) -> None:
        """Fire the event on the bus, with the device id for device triggers."""
        device = dr.async_get(self.hass).async_get_device_by_identifier(
            (DOMAIN, event.cabinet_id), self.config_entry.entry_id
        )
        self.hass.bus.async_fire(
            EVENT_CABINET,
            {
                "device_id": None if device is None else device.id,
                "cabinet_id": event.cabinet_id,
                "type": event.event_type,
                **event.data,
            },
            context=context,
        )

    @callback
    def _log_unknown_kind(self, kind: str) -> None:
        """Log the first push of each unknown kind at debug level."""
        if kind in self._logged_unknown_kinds:
            return
        if len(self._logged_unknown_kinds) >= MAX_LOGGED_UNKNOWN_KINDS:
            return
        self._logged_unknown_kinds.add(kind)
        _LOGGER.debug(
            "Push of unknown kind %s; it is fired as an event of type unknown", kind
        )
