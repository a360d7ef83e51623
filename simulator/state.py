"""Model the simulated fleet: shops, cabinets, slots and batteries."""

from __future__ import annotations

from dataclasses import dataclass, field
import random

# Invented venues. Coordinates are strings because the cloud sends them so.
_SHOP_TEMPLATES: tuple[tuple[str, str, str, str, str], ...] = (
    ("Cafe Central", "Herrengasse 14", "Vienna", "48.2104", "16.3655"),
    ("Central Station Kiosk", "Bahnhofplatz 1", "Zurich", "47.3779", "8.5403"),
    ("Harbour Coffee", "Kade 7", "Rotterdam", "51.9050", "4.4840"),
    ("North Station Lounge", "Place Napoleon III 2", "Paris", "48.8809", "2.3553"),
    ("Library Cafe", "Calle Mayor 21", "Madrid", "40.4155", "-3.7074"),
)
_SHOP_COUNT = 4

_IP_NETWORKS = ("198.51.100", "203.0.113")
_IP_COUNT = 254 * len(_IP_NETWORKS)
_SLOT_FILL_RATIO = 0.6
_POS_RATIO = 0.35

MIN_SIGNAL = 0
MAX_SIGNAL = 31


@dataclass(slots=True)
class SimBattery:
    """Power bank sitting in a slot or rented out."""

    battery_id: str
    charge: int
    """State of charge in percent, sent as `vol`."""
    fault_type: int = 0
    fault_cause: str = ""


@dataclass(slots=True)
class SimShop:
    """Venue that cabinets are bound to."""

    shop_id: str
    name: str
    address: str
    city: str
    latitude: str
    longitude: str


@dataclass(slots=True)
class SimCabinet:
    """Rental cabinet with numbered slots starting at 1."""

    cabinet_id: str
    qr_code: str
    shop: SimShop
    ip: str
    signal: int
    slots: dict[int, SimBattery | None]
    online: bool = True
    locked_slots: set[int] = field(default_factory=set)
    pos_device_id: str = ""
    pos_online: bool = False
    remark: str = ""
    online_time: str = ""
    offline_time: str = ""

    @property
    def slot_count(self) -> int:
        """Return the number of slots."""
        return len(self.slots)

    @property
    def rentable_count(self) -> int:
        """Return the number of batteries present.

        NOTE: locked slots and faulty batteries still count, so that rentable and
        returnable always add up to the slot count as in the cloud's listing.
        """
        return sum(1 for battery in self.slots.values() if battery is not None)

    @property
    def returnable_count(self) -> int:
        """Return the number of empty slots."""
        return self.slot_count - self.rentable_count

    def occupied_slots(self, *, include_locked: bool = True) -> list[int]:
        """Return the numbers of the slots that hold a battery."""
        return [
            slot
            for slot, battery in self.slots.items()
            if battery is not None and (include_locked or slot not in self.locked_slots)
        ]

    def empty_slots(self, *, include_locked: bool = True) -> list[int]:
        """Return the numbers of the slots without a battery."""
        return [
            slot
            for slot, battery in self.slots.items()
            if battery is None and (include_locked or slot not in self.locked_slots)
        ]


@dataclass(slots=True)
class RentedBattery:
    """Battery that left a cabinet, with the order that took it."""

    battery: SimBattery
    order_id: str


class FleetState:
    """All cabinets of one agent account, generated from a seed.

    Every random choice, including those of the scenario, comes from `rng`, so
    two fleets built from the same seed evolve the same way under the same calls.
    """

    def __init__(self, *, cabinets: int, slots: int, seed: int) -> None:
        """Generate the shops and `cabinets` cabinets with `slots` slots each."""
        if cabinets < 0:
            raise ValueError(f"cabinets must be 0 or more, got {cabinets}")
        if slots < 1:
            raise ValueError(f"slots must be 1 or more, got {slots}")

        # Reproducible simulation, not security: a seeded PRNG is the point.
        self.rng = random.Random(seed)  # noqa: S311
        self.slots_per_cabinet = slots
        self.cabinets: dict[str, SimCabinet] = {}
        self.rented: list[RentedBattery] = []
        self._battery_ids: set[str] = set()
        self._ips: set[str] = set()
        self._order_count = 0

        templates = list(_SHOP_TEMPLATES)
        self.rng.shuffle(templates)
        self.shops = [
            SimShop(f"shop{index:07d}", name, address, city, latitude, longitude)
            for index, (name, address, city, latitude, longitude) in enumerate(
                templates[:_SHOP_COUNT], start=1
            )
        ]

        for _ in range(cabinets):
            self.add_cabinet()

    def add_cabinet(self, cabinet_id: str | None = None) -> SimCabinet:
        """Create a cabinet, by default with a new id, about 60 % of slots filled."""
        if cabinet_id is None:
            cabinet_id = self._new_cabinet_id()
        elif cabinet_id in self.cabinets:
            raise ValueError(f"cabinet {cabinet_id} already exists")
        slots: dict[int, SimBattery | None] = {}
        for slot in range(1, self.slots_per_cabinet + 1):
            if self.rng.random() < _SLOT_FILL_RATIO:
                slots[slot] = self.new_battery(self.rng.randint(20, 100))
            else:
                slots[slot] = None

        pos_device_id = ""
        if self.rng.random() < _POS_RATIO:
            pos_device_id = f"POS{self.rng.randrange(1_000_000):06d}"

        cabinet = SimCabinet(
            cabinet_id=cabinet_id,
            qr_code=f"QR-{cabinet_id}",
            shop=self.rng.choice(self.shops),
            ip=self._new_ip(),
            signal=self.rng.randint(8, MAX_SIGNAL),
            slots=slots,
            pos_device_id=pos_device_id,
            pos_online=bool(pos_device_id),
        )
        self.cabinets[cabinet_id] = cabinet
        return cabinet

    def new_battery(self, charge: int, battery_id: str | None = None) -> SimBattery:
        """Create a battery with the given id, or with a new id unused in this fleet."""
        if battery_id is None:
            battery_id = self._new_battery_id()
        self._battery_ids.add(battery_id)
        return SimBattery(battery_id, charge)

    def new_order_id(self) -> str:
        """Return the next rental order id."""
        self._order_count += 1
        return f"ORD{self._order_count:010d}"

    def _new_battery_id(self) -> str:
        """Return a `BAT` id with 7 digits unused in this fleet."""
        while True:
            battery_id = f"BAT{self.rng.randrange(1, 10_000_000):07d}"
            if battery_id not in self._battery_ids:
                return battery_id

    def _new_cabinet_id(self) -> str:
        """Return a `BJX` id with 5 digits unused in this fleet."""
        while True:
            cabinet_id = f"BJX{self.rng.randrange(100_000):05d}"
            if cabinet_id not in self.cabinets:
                return cabinet_id

    def _new_ip(self) -> str:
        """Return an address from the documentation ranges (RFC 5737).

        Addresses are unique until all 508 are taken, then they repeat.
        """
        while True:
            network = self.rng.choice(_IP_NETWORKS)
            address = f"{network}.{self.rng.randint(1, 254)}"
            if address not in self._ips or len(self._ips) >= _IP_COUNT:
                self._ips.add(address)
                return address
