"""Immutable data parsed from the cloud's loosely typed JSON.

The cloud sends numbers as strings now and then, omits keys or sends null,
and names one field differently on different endpoints. Parsing here is
tolerant: a missing or unreadable value becomes None, and 0 stays 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import math
from typing import Any

# Names the same cabinet field carries on different endpoints: the fleet
# listing uses pinyin-style keys, the device info and the push camelCase.
_CABINET_ID_KEYS = ("cabinetId", "pCabinetid", "cabinetid", "deviceId", "id")
_TOTAL_KEYS = ("totalCount", "slots", "pTotal", "slotCount")
_RENTABLE_KEYS = ("rentableCount", "busySlots", "pBorrow", "batteryNum")
_RETURNABLE_KEYS = ("returnableCount", "emptySlots", "pAlso", "freeNum")
_SLOT_KEYS = ("slotNum", "slot", "pKakou", "slotNo")
_CHARGE_KEYS = ("vol", "power", "charge")
MAX_CHARGE = 100

_ONLINE_WORDS = frozenset({"online", "1", "true", "on"})
_OFFLINE_WORDS = frozenset({"offline", "0", "false", "off"})


def to_int(value: object) -> int | None:
    """Read an integer from an int, a whole float or a numeric string."""
    if type(value) is int:
        # The usual case first: bool is a subclass of int and must not pass.
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        if math.isfinite(number) and number.is_integer():
            return int(number)
    return None


def to_str(value: object) -> str | None:
    """Read a non-empty string; numbers are turned into their text."""
    if type(value) is str:
        return value.strip() or None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        return text or None
    return None


def to_bool(value: object) -> bool | None:
    """Read an on/off flag from a bool, 0/1 or words such as "online"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {0: False, 1: True}.get(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _ONLINE_WORDS:
            return True
        if word in _OFFLINE_WORDS:
            return False
    return None


def first_value(data: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    """Return the value of the first key present and not null."""
    for key in keys:
        value = data.get(key)
        if value is not None:
            return value
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Battery:
    """A power bank in one slot of a cabinet."""

    slot: int
    battery_id: str | None = None
    charge: int | None = None
    """Charge level as the cloud reports it, read as a percentage.

    NOTE: the API reference leaves open whether `vol` is a percentage or a
    voltage. A value outside 0 to MAX_CHARGE is not a percentage, so it is
    read as unknown rather than shown as a charge level.
    """
    fault_type: int | None = None
    fault_cause: str | None = None

    @classmethod
    def from_json(cls, data: object) -> Battery | None:
        """Parse one battery record; None when it names no valid slot."""
        if not isinstance(data, Mapping):
            return None
        slot = to_int(first_value(data, _SLOT_KEYS))
        if slot is None or slot < 1:
            return None
        return cls(
            slot=slot,
            battery_id=to_str(first_value(data, ("batteryId", "pBatteryid"))),
            charge=_charge(first_value(data, _CHARGE_KEYS)),
            fault_type=to_int(first_value(data, ("batteryFaultType", "faultType"))),
            fault_cause=to_str(first_value(data, ("batteryFaultCause", "faultCause"))),
        )


def _charge(value: object) -> int | None:
    number = to_int(value)
    if number is None or not 0 <= number <= MAX_CHARGE:
        return None
    return number


def parse_batteries(data: object) -> tuple[Battery, ...] | None:
    """Parse a battery list, sorted by slot; None when there is no list."""
    if not isinstance(data, list):
        return None
    by_slot: dict[int, Battery] = {}
    for item in data:
        battery = Battery.from_json(item)
        if battery is not None:
            by_slot[battery.slot] = battery
    return tuple(by_slot[slot] for slot in sorted(by_slot))


@dataclass(frozen=True, slots=True, kw_only=True)
class Cabinet:
    """One cabinet as the cloud last described it.

    None in a field means the source did not report it, never zero.
    """

    cabinet_id: str
    online: bool | None = None
    signal: int | None = None
    """Signal quality as the cabinet reports it (GPRS CSQ 0-31 in pushes)."""
    total_slots: int | None = None
    rentable: int | None = None
    """Batteries available to rent."""
    returnable: int | None = None
    """Empty slots available for returns."""
    model: str | None = None
    qr_code: str | None = None
    shop_id: str | None = None
    shop_name: str | None = None
    batteries: tuple[Battery, ...] | None = None
    """Batteries by slot, or None when the source carried no battery list."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cabinet | None:
        """Parse a fleet listing record; None when it carries no cabinet id."""
        cabinet_id = to_str(first_value(data, _CABINET_ID_KEYS))
        if cabinet_id is None:
            return None
        shop = data.get("shop")
        shop_name = to_str(first_value(data, ("shopName", "pShopName")))
        if shop_name is None and isinstance(shop, Mapping):
            shop_name = to_str(first_value(shop, ("name", "shopName")))
        return cls(
            cabinet_id=cabinet_id,
            online=to_bool(first_value(data, ("online", "infoStatus", "pOnline"))),
            signal=to_int(first_value(data, ("signal", "pSignal"))),
            total_slots=to_int(first_value(data, _TOTAL_KEYS)),
            rentable=to_int(first_value(data, _RENTABLE_KEYS)),
            returnable=to_int(first_value(data, _RETURNABLE_KEYS)),
            model=to_str(first_value(data, ("type", "deviceType", "model"))),
            qr_code=to_str(first_value(data, ("qrCode", "pQrcode", "qrcode"))),
            shop_id=to_str(first_value(data, ("shopId", "pShopid", "shopid"))),
            shop_name=shop_name,
            batteries=parse_batteries(data.get("batteries")),
        )

    @classmethod
    def from_device_info(cls, data: Mapping[str, Any]) -> Cabinet | None:
        """Parse the `data` of Get Device Info: cabinet, batteries and shop."""
        cabinet = data.get("cabinet")
        if not isinstance(cabinet, Mapping):
            return None
        merged: dict[str, Any] = dict(cabinet)
        merged["batteries"] = data.get("batteries")
        shop = data.get("shop")
        if isinstance(shop, Mapping):
            merged.setdefault("shopName", shop.get("name"))
        return cls.from_json(merged)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventSubscription:
    """Whether one event kind is pushed, and to which URL."""

    event: str
    enabled: bool
    push_url: str = ""
    """Per-event URL; empty means the configuration's default push URL."""

    def to_json(self) -> dict[str, Any]:
        """Return the subscription in the cloud's JSON shape."""
        return {"event": self.event, "pushUrl": self.push_url, "enable": self.enabled}


@dataclass(frozen=True, slots=True, kw_only=True)
class PushConfig:
    """The agent account's event push configuration on the cloud."""

    push_url: str | None
    subscriptions: tuple[EventSubscription, ...] = field(default_factory=tuple)

    @classmethod
    def from_json(cls, data: object) -> PushConfig:
        """Parse the configuration; an empty or missing one has no URL."""
        if not isinstance(data, Mapping):
            return cls(push_url=None)
        subscriptions = []
        raw_subscriptions = data.get("eventSubscriptions")
        if isinstance(raw_subscriptions, list):
            for item in raw_subscriptions:
                if not isinstance(item, Mapping):
                    continue
                event = to_str(item.get("event"))
                if event is None:
                    continue
                subscriptions.append(
                    EventSubscription(
                        event=event,
                        # A subscription listed without the flag is read as
                        # enabled, so restoring it does not switch it off.
                        enabled=to_bool(item.get("enable")) is not False,
                        push_url=to_str(item.get("pushUrl")) or "",
                    )
                )
        return cls(
            push_url=to_str(data.get("pushUrl")),
            subscriptions=tuple(subscriptions),
        )

    def to_json(self) -> dict[str, Any]:
        """Return the configuration in the cloud's JSON shape."""
        return {
            "pushUrl": self.push_url or "",
            "eventSubscriptions": [item.to_json() for item in self.subscriptions],
        }
