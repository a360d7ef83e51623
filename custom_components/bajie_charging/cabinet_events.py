"""Cabinet events in Home Assistant: the event type, time and data of a push.

The event entity, the `bajie_charging_event` bus event, the logbook and the
device triggers all describe a push the same way, from the `CabinetEvent`
that the coordinator builds with the functions here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from .api.push import KNOWN_KINDS, PushEvent, PushKind

EVENT_TYPE_UNKNOWN = "unknown"

EVENT_TYPES: tuple[str, ...] = (
    *(kind.lower() for kind in PushKind),
    EVENT_TYPE_UNKNOWN,
)
"""Event types of the cabinet event entity: the push kinds in snake_case."""

MAX_TIMESTAMP_AHEAD = timedelta(minutes=10)
"""A push time this far past the receive time is taken as wrong and ignored.

Such a push is dated by its receive time instead, so one push from a clock
that runs ahead, or read in a wrongly configured zone, cannot hold back the
pushes after it. Ten minutes leaves room for clocks that drift apart.
"""


def event_type_of(kind: str) -> str:
    """Return the event type of a push kind; unknown kinds share one type."""
    if kind in KNOWN_KINDS:
        return kind.lower()
    return EVENT_TYPE_UNKNOWN


@dataclass(frozen=True, slots=True, kw_only=True)
class CabinetEvent:
    """One accepted push of one cabinet, as Home Assistant presents it."""

    cabinet_id: str
    event_type: str
    time: datetime
    """When the event happened: the push timestamp or, without one, its arrival."""
    stale: bool
    """True when the push is older than the state already applied to the cabinet."""
    data: dict[str, Any]
    """Cleaned event fields, JSON serialisable, with no network address."""


def event_time(
    push: PushEvent, zone: tzinfo, received: datetime
) -> tuple[datetime, bool]:
    """Return when the push happened, and whether that time is the cloud's timestamp.

    The cloud sends local time without a zone, so the timestamp is read in
    `zone`. Without a usable timestamp the receive time is used instead.
    Times in one zone compare as wall-clock times, whatever their fold, so
    callers compare them in UTC.
    """
    if push.timestamp is None:
        return received, False
    happened = _in_zone(push.timestamp, zone, received)
    if happened - received > MAX_TIMESTAMP_AHEAD:
        return received, False
    return happened, True


def _in_zone(local: datetime, zone: tzinfo, near: datetime) -> datetime:
    """Return a zone-less local time in zone, as the occurrence nearest near.

    In the hour a clock turns back, a local time occurs twice. An occurrence
    more than MAX_TIMESTAMP_AHEAD after near is not taken while the other
    one is not, so a late push of the first pass stays in the past.
    """
    first = local.replace(tzinfo=zone)
    repeated = first.replace(fold=1)
    if repeated.utcoffset() == first.utcoffset():
        return first
    # Subtracting times of one zone ignores their fold, so near is in UTC.
    near = near.astimezone(UTC)
    if repeated - near > MAX_TIMESTAMP_AHEAD >= first - near:
        return first
    return repeated if abs(repeated - near) < abs(first - near) else first


def _local_time(value: datetime | None, zone: tzinfo, near: datetime) -> str | None:
    if value is None:
        return None
    return _in_zone(value, zone, near).isoformat()


def build_event_data(push: PushEvent, time: datetime, zone: tzinfo) -> dict[str, Any]:
    """Return the fields of a push that automations may use, without empty ones.

    The battery list of a status report is left out to keep the recorded
    event small; the per-slot sensors carry it.
    """
    reason = push.fault_reason
    fields: dict[str, Any] = {
        "timestamp": time.isoformat(),
        "slot": push.slot,
        "battery_id": push.battery_id,
        "order_id": push.order_id,
        "fault_type": push.fault_type,
        "fault_cause": push.fault_cause,
        "fault_reason": None if reason is None else reason.value,
        "eject_failed": push.eject_failed,
        "rental_failed": (
            push.failed if push.kind == PushKind.BATTERY_BORROW_OUT else None
        ),
        "online": push.online,
        "signal": push.signal,
        "total_slots": push.total_slots,
        "batteries_to_rent": push.rentable,
        "free_slots": push.returnable,
        "battery_count": None if push.batteries is None else len(push.batteries),
        "pos_device_id": push.pos_device_id,
        "pos_online": push.pos_online,
        "online_time": _local_time(push.online_time, zone, time),
        "offline_time": _local_time(push.offline_time, zone, time),
    }
    if not push.is_known_kind:
        fields["event"] = push.kind
        fields["fields"] = dict(push.extra_fields)
    return {key: value for key, value in fields.items() if value is not None}
