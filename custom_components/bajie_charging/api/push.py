"""Parsing, validation and application of the cloud's cabinet event pushes.

A push is a JSON object `{"agentAccount", "event", "timestamp", "eventData"}`.
One `eventData` schema serves every event kind and only the fields relevant
to the kind are filled. Parsing is tolerant of strings for numbers and of
missing keys, and strict about the shape: anything that is not an object with
an event name and a cabinet id is rejected with `InvalidPushError`. A valid
push of a kind this code does not know is parsed all the same, and keeps its
plain fields in `PushEvent.extra_fields`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
import math
import re
from typing import Any

from .models import Battery, Cabinet, parse_batteries, to_bool, to_int, to_str

MAX_ID_LENGTH = 64
MAX_SLOT = 999
MAX_COUNT = 10_000
MAX_TEXT_LENGTH = 256
MAX_SIGNAL = 31
"""Highest GPRS signal quality (CSQ); the modem's 99 means unknown."""
MAX_FAULT_CODE = 9_999
MAX_EXTRA_FIELDS = 32
"""Plain fields kept from the body of a push of an unknown kind."""
RECENT_PUSHES_PER_CABINET = 32
MAX_REMEMBERED_CABINETS = 10_000

_ID_PATTERN = re.compile(r"^[\w.:-]+$")
_EVENT_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
_FIELD_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Address and location fields of a cabinet are never passed on.
_PRIVATE_FIELDS = frozenset({"cabinetid", "clientport", "geohash"})
_ISO_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})", re.ASCII
)
"""The first two of _TIMESTAMP_FORMATS with every number zero-padded."""
_TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S")


class PushKind(StrEnum):
    """Event kinds the cloud pushes."""

    CABINET_ONLINE = "CABINET_ONLINE"
    CABINET_OFFLINE = "CABINET_OFFLINE"
    CABINET_STATUS = "CABINET_STATUS"
    BATTERY_IN = "BATTERY_IN"
    BATTERY_BORROW_OUT = "BATTERY_BORROW_OUT"
    BATTERY_ABNORMAL_WARNING = "BATTERY_ABNORMAL_WARNING"
    BATTERY_POPUP = "BATTERY_POPUP"
    ADMIN_RENTAL_ORDER = "ADMIN_RENTAL_ORDER"
    POS_INFO_STATUS = "POS_INFO_STATUS"


KNOWN_KINDS = frozenset(PushKind)


class FaultReason(StrEnum):
    """Meaning of a `faultType` code, from the cloud's table of rental failures."""

    OTHER = "other"
    BATTERY_AUTHORIZATION_FAILED = "battery_authorization_failed"
    BATTERY_ID_NOT_FOUND = "battery_id_not_found"
    EJECT_FAILED = "eject_failed"
    COMMAND_TIMED_OUT = "command_timed_out"


# The cloud documents codes 3, 4 and 5 with the same text.
_FAULT_REASONS: dict[int, FaultReason] = {
    1: FaultReason.BATTERY_AUTHORIZATION_FAILED,
    2: FaultReason.BATTERY_ID_NOT_FOUND,
    3: FaultReason.EJECT_FAILED,
    4: FaultReason.EJECT_FAILED,
    5: FaultReason.EJECT_FAILED,
    9: FaultReason.COMMAND_TIMED_OUT,
}


def fault_reason(fault_type: int | None) -> FaultReason:
    """Map a fault code to its reason; a code outside the cloud's table is OTHER.

    NOTE: the cloud publishes this table for rental and eject failures only.
    Battery faults (`batteryFaultType`, abnormal warnings) are read with it too,
    for want of a table of their own.
    """
    if fault_type is None:
        return FaultReason.OTHER
    return _FAULT_REASONS.get(fault_type, FaultReason.OTHER)


def is_abnormal(battery: Battery) -> bool:
    """Return whether the battery carries a fault code or a fault description."""
    return bool(battery.fault_type) or battery.fault_cause is not None


class InvalidPushError(ValueError):
    """The push body is not a valid cabinet event; the message gives the reason."""


type ExtraValue = str | int | float | bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PushEvent:
    """One validated cabinet event, with its fields cleaned.

    None means the push did not carry the field.
    """

    kind: str
    """Event name as sent, upper case; may be a kind this code does not know."""
    cabinet_id: str
    agent_account: str | None = None
    timestamp: datetime | None = None
    """Event time as sent, without a zone."""
    online: bool | None = None
    signal: int | None = None
    signal_sent: bool = False
    """Whether the push carried a signal key; an unreadable value there makes
    the signal unknown, while a push without the key leaves it alone."""
    total_slots: int | None = None
    rentable: int | None = None
    returnable: int | None = None
    batteries: tuple[Battery, ...] | None = None
    slot: int | None = None
    battery_id: str | None = None
    order_id: str | None = None
    fault_type: int | None = None
    fault_cause: str | None = None
    eject_failed: bool | None = None
    """For BATTERY_POPUP: True when the cabinet reported the eject failed."""
    pos_device_id: str | None = None
    pos_online: bool | None = None
    """For POS_INFO_STATUS: whether the POS terminal is connected."""
    online_time: datetime | None = None
    """When the cabinet came online, as sent, without a zone."""
    offline_time: datetime | None = None
    """When the cabinet went offline, as sent, without a zone."""
    extra_fields: tuple[tuple[str, ExtraValue], ...] = ()
    """For a kind this code does not know: its plain `eventData` fields, with
    snake_case names, without the cabinet id and without address fields."""

    @property
    def is_known_kind(self) -> bool:
        """Whether the kind is one this code can apply."""
        return self.kind in KNOWN_KINDS

    @property
    def failed(self) -> bool:
        """Whether the push reports a failed eject or a failed rental.

        NOTE: a BATTERY_BORROW_OUT with a non-zero fault code is read as a
        rental that failed, so the battery stays in its slot. The cloud
        documents `faultType` as the rental failure type but no such push.
        """
        if self.kind == PushKind.BATTERY_POPUP:
            return self.eject_failed is True
        if self.kind == PushKind.BATTERY_BORROW_OUT:
            return bool(self.fault_type)
        return False

    @property
    def fault_reason(self) -> FaultReason | None:
        """Reason of the fault or failure the push reports; None without one."""
        if self.failed or self.kind == PushKind.BATTERY_ABNORMAL_WARNING:
            return fault_reason(self.fault_type)
        if self.fault_type:
            return fault_reason(self.fault_type)
        return None


def _clean_id(value: object, field: str, *, required: bool) -> str | None:
    text = to_str(value)
    if text is None:
        if required:
            raise InvalidPushError(f"{field} is missing")
        return None
    if not _is_valid_id(text):
        raise InvalidPushError(f"{field} is not a valid identifier")
    return text


def _clean_text(value: object) -> str | None:
    text = to_str(value)
    if text is None:
        return None
    return text[:MAX_TEXT_LENGTH]


def _clean_count(value: object) -> int | None:
    number = to_int(value)
    if number is None or not 0 <= number <= MAX_COUNT:
        return None
    return number


def _clean_slot(value: object) -> int | None:
    number = to_int(value)
    if number is None or not 1 <= number <= MAX_SLOT:
        return None
    return number


def _clean_signal(value: object) -> int | None:
    number = to_int(value)
    if number is None or not 0 <= number <= MAX_SIGNAL:
        return None
    return number


def _clean_batteries(value: object) -> tuple[Battery, ...] | None:
    """Parse a battery list, leaving out slots above MAX_SLOT.

    Without that bound, a body of MAX_PUSH_BODY_BYTES could carry thousands
    of batteries, each kept in memory with the cabinet's state.
    """
    batteries = parse_batteries(value)
    if batteries is None:
        return None
    return tuple(
        _clean_battery(battery) for battery in batteries if battery.slot <= MAX_SLOT
    )


def _clean_battery(battery: Battery) -> Battery:
    """Bound a pushed battery's id and fault the way the push's own are bounded.

    A battery id that is not a valid identifier is left out rather than
    rejecting the whole push, so the slot still counts.
    """
    battery_id = battery.battery_id
    fault_cause = battery.fault_cause
    fault_type = battery.fault_type
    if (
        (battery_id is None or _is_valid_id(battery_id))
        and (fault_cause is None or len(fault_cause) <= MAX_TEXT_LENGTH)
        and (fault_type is None or 0 <= fault_type <= MAX_FAULT_CODE)
    ):
        return battery
    return replace(
        battery,
        battery_id=battery_id if battery_id and _is_valid_id(battery_id) else None,
        fault_cause=_clean_text(fault_cause),
        fault_type=_clean_fault_code(fault_type),
    )


def _is_valid_id(text: str) -> bool:
    return len(text) <= MAX_ID_LENGTH and _ID_PATTERN.match(text) is not None


def _clean_fault_code(value: object) -> int | None:
    number = to_int(value)
    if number is None or not 0 <= number <= MAX_FAULT_CODE:
        return None
    return number


def _is_private_field(name: str) -> bool:
    """Return whether a field names the cabinet, its network address or location."""
    lowered = name.lower()
    return (
        lowered in _PRIVATE_FIELDS or lowered.startswith("ip") or lowered.endswith("ip")
    )


def _clean_extra_value(value: object) -> ExtraValue | None:
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value[:MAX_TEXT_LENGTH]
    return None


def _extra_fields(data: Mapping[Any, Any]) -> tuple[tuple[str, ExtraValue], ...]:
    """Keep the plain fields of an unknown kind, renamed to snake_case.

    Nested objects, lists and nulls are left out, and so are fields with
    unusual names, address fields and everything after MAX_EXTRA_FIELDS.
    """
    fields: list[tuple[str, ExtraValue]] = []
    for name, value in data.items():
        if len(fields) == MAX_EXTRA_FIELDS:
            break
        if not isinstance(name, str) or not _FIELD_NAME_PATTERN.match(name):
            continue
        if _is_private_field(name):
            continue
        cleaned = _clean_extra_value(value)
        if cleaned is not None:
            fields.append((_CAMEL_BOUNDARY.sub("_", name).lower(), cleaned))
    return tuple(fields)


def _parse_timestamp(value: object) -> datetime | None:
    text = to_str(value)
    if text is None:
        return None
    # The cloud's usual format is read without strptime, which is slow.
    # datetime.fromisoformat would be quicker still, but it reads 24:00:00
    # as midnight of the next day.
    if match := _ISO_TIMESTAMP.fullmatch(text[:19]):
        try:
            year, month, day, hour, minute, second = map(int, match.groups())
            return datetime(year, month, day, hour, minute, second)
        except ValueError:
            return None
    for pattern in _TIMESTAMP_FORMATS:
        try:
            return datetime.strptime(text[:19], pattern)
        except ValueError:
            continue
    return None


def _first(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = data.get(key)
        if value is not None:
            return value
    return None


def _slot_and_battery(kind: str, data: Mapping[str, Any]) -> tuple[Any, Any]:
    """Pick the slot and battery fields that matter for this kind."""
    if kind == PushKind.BATTERY_IN:
        return _first(data, "returnSlot", "slotNum", "slot"), _first(
            data, "returnBatteryId", "batteryId"
        )
    if kind == PushKind.BATTERY_ABNORMAL_WARNING:
        return _first(data, "slotNum", "slot", "outSlot", "returnSlot"), _first(
            data, "abnormalBatteryId", "batteryId"
        )
    return _first(data, "outSlot", "slotNum", "slot", "returnSlot"), _first(
        data, "outBatteryId", "batteryId", "returnBatteryId", "abnormalBatteryId"
    )


def _clean_account(body: Mapping[str, Any]) -> str | None:
    """Return the agent account, or None when the push names none.

    A push that carries the key must carry a non-empty string there, so that
    a value of another type cannot slip past the account check.
    """
    if body.get("agentAccount") is None:
        return None
    account = body["agentAccount"]
    if not isinstance(account, str) or not account.strip():
        raise InvalidPushError("agentAccount is not a non-empty string")
    return account.strip()


def parse_push(body: object) -> PushEvent:
    """Validate a decoded push body and return the cleaned event."""
    if not isinstance(body, Mapping):
        raise InvalidPushError("body is not a JSON object")

    kind_text = body.get("event")
    if not isinstance(kind_text, str) or not kind_text.strip():
        raise InvalidPushError("event is missing")
    kind = kind_text.strip().upper()
    if not _EVENT_PATTERN.match(kind):
        raise InvalidPushError("event is not a valid event name")

    data = body.get("eventData")
    if not isinstance(data, Mapping):
        raise InvalidPushError("eventData is missing or not an object")

    cabinet_id = _clean_id(data.get("cabinetId"), "cabinetId", required=True)
    assert cabinet_id is not None

    raw_slot, raw_battery = _slot_and_battery(kind, data)
    out_status = to_int(data.get("outStatus"))
    online = to_bool(data.get("infoStatus"))
    pos_online = None
    if kind == PushKind.CABINET_ONLINE:
        online = True
    elif kind == PushKind.CABINET_OFFLINE:
        online = False
    elif kind == PushKind.POS_INFO_STATUS:
        # The status of a POS terminal tells nothing about the cabinet.
        pos_online, online = online, None

    return PushEvent(
        kind=kind,
        cabinet_id=cabinet_id,
        agent_account=_clean_account(body),
        timestamp=_parse_timestamp(body.get("timestamp")),
        online=online,
        signal=_clean_signal(data.get("signal")),
        signal_sent="signal" in data,
        # The number of slots is the number of the last slot.
        total_slots=_clean_slot(data.get("totalCount")),
        rentable=_clean_count(data.get("rentableCount")),
        returnable=_clean_count(data.get("returnableCount")),
        batteries=_clean_batteries(data.get("batteryList")),
        slot=_clean_slot(raw_slot),
        battery_id=_clean_id(raw_battery, "battery id", required=False),
        order_id=_clean_id(data.get("orderId"), "orderId", required=False),
        fault_type=_clean_fault_code(data.get("faultType")),
        fault_cause=_clean_text(data.get("faultCause")),
        eject_failed=None if out_status is None else out_status != 0,
        pos_device_id=_clean_id(data.get("posDeviceId"), "posDeviceId", required=False),
        pos_online=pos_online,
        online_time=_parse_timestamp(data.get("onlineTime")),
        offline_time=_parse_timestamp(data.get("offlineTime")),
        extra_fields=() if kind in KNOWN_KINDS else _extra_fields(data),
    )


def _with_slot(
    batteries: tuple[Battery, ...] | None, slot: int, battery: Battery | None
) -> tuple[Battery, ...] | None:
    """Return the battery list with one slot replaced or emptied."""
    if batteries is None:
        # The other slots are unknown, so one event cannot make a full list.
        return None
    kept = [item for item in batteries if item.slot != slot]
    if battery is not None:
        kept.append(battery)
    return tuple(sorted(kept, key=lambda item: item.slot))


def _with_fault(
    batteries: tuple[Battery, ...] | None, event: PushEvent, slot: int
) -> tuple[Battery, ...] | None:
    """Return the battery list with the fault of the event set on the slot.

    A slot the list shows as empty gets a battery: the cabinet reported one
    there, by an abnormal warning or by failing to eject it. An event without
    a fault code or description keeps the battery's earlier fault.
    """
    if batteries is None:
        return None
    current = next((item for item in batteries if item.slot == slot), None)
    if current is None:
        current = Battery(slot=slot, battery_id=event.battery_id)
    marked = replace(current, battery_id=current.battery_id or event.battery_id)
    if event.fault_type or event.fault_cause is not None:
        marked = replace(
            marked, fault_type=event.fault_type, fault_cause=event.fault_cause
        )
    return _with_slot(batteries, slot, marked)


def _within(count: int | None, total_slots: int | None) -> int | None:
    if count is None or (total_slots is not None and count > total_slots):
        return None
    return count


def _shift(value: int | None, delta: int) -> int | None:
    if value is None:
        return None
    return max(0, value + delta)


def _apply_slot_event(
    batteries: tuple[Battery, ...] | None, event: PushEvent, slot: int
) -> tuple[tuple[Battery, ...] | None, int]:
    """Apply a battery event to its slot.

    Return the new battery list and the change in batteries available to rent.
    """
    if event.kind == PushKind.BATTERY_IN:
        returned = Battery(slot=slot, battery_id=event.battery_id)
        return _with_slot(batteries, slot, returned), 1
    if event.failed or event.kind == PushKind.BATTERY_ABNORMAL_WARNING:
        return _with_fault(batteries, event, slot), 0
    if event.kind == PushKind.BATTERY_BORROW_OUT or (
        event.kind == PushKind.BATTERY_POPUP and event.eject_failed is False
    ):
        return _with_slot(batteries, slot, None), -1
    return batteries, 0


def apply_push(cabinet: Cabinet, event: PushEvent) -> Cabinet:
    """Return the cabinet as it is after the event.

    Counters carried by the push win. A push that moves a battery without
    counters adjusts the known counters by one. A failed eject or rental and
    an abnormal warning set their fault on the battery of the slot.
    """
    changes: dict[str, Any] = {}
    if event.online is not None:
        changes["online"] = event.online
    elif event.kind in {PushKind.CABINET_STATUS, PushKind.BATTERY_IN}:
        # Only a connected cabinet can report its status or a return.
        changes["online"] = True
    if event.signal_sent:
        changes["signal"] = event.signal
    if event.total_slots is not None:
        changes["total_slots"] = event.total_slots
    if event.batteries is not None:
        changes["batteries"] = event.batteries

    rentable_delta = 0
    if event.slot is not None:
        batteries, rentable_delta = _apply_slot_event(
            changes.get("batteries", cabinet.batteries), event, event.slot
        )
        if batteries != cabinet.batteries:
            changes["batteries"] = batteries

    # A count above the cabinet's slot count cannot be true, so it is dropped
    # and the known value stays. So is a battery in a slot above that count.
    total_slots = event.total_slots or cabinet.total_slots
    if total_slots and changes.get("batteries"):
        changes["batteries"] = tuple(
            battery for battery in changes["batteries"] if battery.slot <= total_slots
        )
    rentable = _within(event.rentable, total_slots)
    returnable = _within(event.returnable, total_slots)
    if rentable is not None:
        changes["rentable"] = rentable
    elif rentable_delta:
        changes["rentable"] = _shift(cabinet.rentable, rentable_delta)
    if returnable is not None:
        changes["returnable"] = returnable
    elif rentable_delta:
        changes["returnable"] = _shift(cabinet.returnable, -rentable_delta)

    if not changes:
        return cabinet
    return replace(cabinet, **changes)


class RecentPushes:
    """Bounded memory of the latest pushes of each cabinet, to spot resent ones.

    A push is a resend when kind, cabinet, timestamp and every parsed field
    equal those of one of the last `per_cabinet` pushes of its cabinet. A push
    without a timestamp is never taken for a resend, because two identical
    reports without a time cannot be distinguished from one report sent twice.
    The cabinets used longest ago are forgotten beyond `max_cabinets`.

    Only the hash of each push is kept, so the memory stays small whatever
    the pushes carry.

    NOTE: two different pushes of one cabinet with the same timestamp and
    hash are taken for a resend. CPython hashes some distinct integers
    alike, -1 and -2 among them, so two such pushes that differ only in a
    battery charge or an unknown kind's field of -1 and -2 collide.
    """

    def __init__(
        self,
        *,
        per_cabinet: int = RECENT_PUSHES_PER_CABINET,
        max_cabinets: int = MAX_REMEMBERED_CABINETS,
    ) -> None:
        """Set the bounds of the memory."""
        self._per_cabinet = per_cabinet
        self._max_cabinets = max_cabinets
        # Per cabinet, the hashes are the keys of a dict, which finds one like
        # a set and keeps arrival order, so the first key is the oldest.
        self._by_cabinet: OrderedDict[str, dict[int, None]] = OrderedDict()

    def remember(self, event: PushEvent) -> bool:
        """Remember the push and return False when it is a resend."""
        if event.timestamp is None:
            return True
        recent = self._by_cabinet.get(event.cabinet_id)
        if recent is None:
            recent = {}
            self._by_cabinet[event.cabinet_id] = recent
            if len(self._by_cabinet) > self._max_cabinets:
                self._by_cabinet.popitem(last=False)
        else:
            self._by_cabinet.move_to_end(event.cabinet_id)
        key = hash(event)
        if key in recent:
            return False
        recent[key] = None
        if len(recent) > self._per_cabinet:
            del recent[next(iter(recent))]
        return True
