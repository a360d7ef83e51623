"""Pushes for cabinets that the fleet does not have yet, kept within limits.

A cabinet newly bound to the account pushes before a poll has listed it. The
coordinator keeps such pushes while a refresh looks for the cabinet, and
applies them in arrival order once the cabinet is in the fleet. The webhook
is reachable from the internet, so what is held has fixed bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .api.push import PushEvent

MAX_HELD_PUSHES = 8
"""Pushes held per cabinet. Past it, the oldest go."""

MAX_HELD_CABINETS = 32
"""Cabinets whose pushes are held. Pushes for further cabinets are dropped."""

MAX_HELD_BATTERIES = 4_096
"""Battery records that all held pushes may carry together.

A push may carry up to MAX_SLOT of them, so the count of pushes alone does
not bound the memory.
"""


class DropReason(StrEnum):
    """Reason a push was dropped instead of held."""

    RESENT = "resent"
    TOO_MANY_PUSHES = "too_many_pushes"
    """The cabinet's oldest held push made room for a newer one."""
    TOO_MANY_CABINETS = "too_many_cabinets"
    TOO_MANY_BATTERIES = "too_many_batteries"


@dataclass(frozen=True, slots=True)
class HeldPush:
    """A push, when it arrived, and how many fleet listings had started then."""

    push: PushEvent
    received: datetime
    listings_started: int


def _size(push: PushEvent) -> int:
    return len(push.batteries or ())


class HeldPushes:
    """Held pushes by cabinet, oldest first."""

    def __init__(self) -> None:
        """Start with nothing held."""
        self._by_cabinet: dict[str, list[HeldPush]] = {}
        self._batteries = 0

    def __contains__(self, cabinet_id: object) -> bool:
        """Return whether pushes of the cabinet are held."""
        return cabinet_id in self._by_cabinet

    def __bool__(self) -> bool:
        """Return whether any push is held."""
        return bool(self._by_cabinet)

    @property
    def cabinet_ids(self) -> list[str]:
        """Cabinets with held pushes, in the order their first push arrived."""
        return list(self._by_cabinet)

    def add(self, held: HeldPush) -> tuple[PushEvent, DropReason] | None:
        """Hold a push; return the push dropped instead, and why, if any.

        A resend of a held push is dropped, by the rule `RecentPushes`
        applies. A cabinet past MAX_HELD_PUSHES drops its oldest push to hold
        the new one.
        """
        push = held.push
        pushes = self._by_cabinet.get(push.cabinet_id)
        if pushes is None:
            if len(self._by_cabinet) >= MAX_HELD_CABINETS:
                return push, DropReason.TOO_MANY_CABINETS
        elif push.timestamp is not None and any(item.push == push for item in pushes):
            return push, DropReason.RESENT
        if self._batteries + _size(push) > MAX_HELD_BATTERIES:
            return push, DropReason.TOO_MANY_BATTERIES

        dropped: tuple[PushEvent, DropReason] | None = None
        if pushes is None:
            pushes = self._by_cabinet[push.cabinet_id] = []
        elif len(pushes) >= MAX_HELD_PUSHES:
            oldest = pushes.pop(0).push
            self._batteries -= _size(oldest)
            dropped = oldest, DropReason.TOO_MANY_PUSHES
        pushes.append(held)
        self._batteries += _size(push)
        return dropped

    def pop(self, cabinet_id: str) -> list[HeldPush]:
        """Remove and return the held pushes of a cabinet, oldest first."""
        pushes = self._by_cabinet.pop(cabinet_id, [])
        self._batteries -= sum(_size(item.push) for item in pushes)
        return pushes

    def drop_listed(self, cabinet_id: str, listing: int) -> int:
        """Drop the cabinet's pushes that arrived before listing number `listing`.

        That listing, which lacked the cabinet, started after these pushes.
        Listings are numbered from 1 in the order they start. Returns the
        number of pushes dropped.
        """
        pushes = self.pop(cabinet_id)
        kept = [item for item in pushes if item.listings_started >= listing]
        if kept:
            self._by_cabinet[cabinet_id] = kept
            self._batteries += sum(_size(item.push) for item in kept)
        return len(pushes) - len(kept)

    def clear(self) -> None:
        """Drop every held push."""
        self._by_cabinet.clear()
        self._batteries = 0
