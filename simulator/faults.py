"""Describe injected faults and pick the one that applies to a request."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

_RULE_KEYS = frozenset(
    {
        "path",
        "times",
        "status",
        "retry_after",
        "delay",
        "business_error",
        "malformed",
        "hang",
        "drop_after_action",
        "auth",
    }
)


class InvalidFaultRuleError(ValueError):
    """A fault rule field has a wrong type or a value that cannot apply."""


@dataclass(slots=True, kw_only=True)
class FaultRule:
    """Fault applied to the next `times` API requests whose path matches.

    `path` is relative to the API base (`/rent/cabinet/query`) or `*` for every
    API path. With `times=None` the rule stays until the faults are cleared.
    The effects apply in this order:

    - `delay`: wait that many seconds, then go on with the other effects.
    - `hang`: send no reply until the client disconnects.
    - `status`: reply with that HTTP status and an envelope body. `retry_after`
      adds a Retry-After header in whole seconds, rounded up.
    - `malformed`: reply HTTP 200 with a truncated JSON body.
    - `auth`: reply 401 even with the right credentials.
    - `business_error`: reply HTTP 200 with that code and message.
    - `drop_after_action`: let the request take effect, pushes included, then
      close the connection without a reply.
    """

    path: str = "*"
    times: int | None = None
    status: int | None = None
    retry_after: float | None = None
    delay: float | None = None
    business_error: tuple[int, str] | None = None
    malformed: bool = False
    hang: bool = False
    drop_after_action: bool = False
    auth: bool = False

    def __post_init__(self) -> None:
        """Normalise the path and reject values that cannot apply."""
        if self.path != "*" and not self.path.startswith("/"):
            self.path = f"/{self.path}"
        if self.times is not None and self.times < 1:
            raise InvalidFaultRuleError(
                f"times must be 1 or more, or None, got {self.times}"
            )
        if self.status is not None and not 100 <= self.status <= 599:
            raise InvalidFaultRuleError(
                f"status must be an HTTP status code, got {self.status}"
            )
        if self.delay is not None and self.delay < 0:
            raise InvalidFaultRuleError(
                f"delay must be 0 or more seconds, got {self.delay}"
            )
        if self.retry_after is not None and self.retry_after < 0:
            raise InvalidFaultRuleError(
                f"retry_after must be 0 or more seconds, got {self.retry_after}"
            )
        if not self.has_effect():
            raise InvalidFaultRuleError(
                "fault rule has no effect: set at least one fault field"
            )

    def has_effect(self) -> bool:
        """Return whether any fault field is set."""
        return bool(
            self.status is not None
            or self.delay is not None
            or self.business_error is not None
            or self.malformed
            or self.hang
            or self.drop_after_action
            or self.auth
        )

    def matches(self, path: str) -> bool:
        """Return whether the rule applies to an API path relative to the base."""
        return self.path in {"*", path}

    def to_dict(self) -> dict[str, Any]:
        """Return the rule as JSON-ready data, the shape `from_dict` reads."""
        business_error = None
        if self.business_error is not None:
            code, message = self.business_error
            business_error = {"code": code, "msg": message}
        return {
            "path": self.path,
            "times": self.times,
            "status": self.status,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "business_error": business_error,
            "malformed": self.malformed,
            "hang": self.hang,
            "drop_after_action": self.drop_after_action,
            "auth": self.auth,
        }

    @classmethod
    def from_dict(cls, data: object) -> FaultRule:
        """Build a rule from JSON data, raising InvalidFaultRuleError on a bad field."""
        if not isinstance(data, dict):
            raise InvalidFaultRuleError("fault rule must be a JSON object")
        unknown = sorted(set(data) - _RULE_KEYS)
        if unknown:
            raise InvalidFaultRuleError(
                f"unknown fault rule fields {unknown}, "
                f"expected some of {sorted(_RULE_KEYS)}"
            )

        path = data.get("path", "*")
        if not isinstance(path, str) or not path:
            raise InvalidFaultRuleError(
                f"path must be a non-empty string, got {path!r}"
            )

        return cls(
            path=path,
            times=_optional_int(data, "times"),
            status=_optional_int(data, "status"),
            retry_after=_optional_number(data, "retry_after"),
            delay=_optional_number(data, "delay"),
            business_error=_business_error(data.get("business_error")),
            malformed=_flag(data, "malformed"),
            hang=_flag(data, "hang"),
            drop_after_action=_flag(data, "drop_after_action"),
            auth=_flag(data, "auth"),
        )


class FaultSet:
    """Active fault rules in the order they were added, with their remaining uses."""

    def __init__(self) -> None:
        """Start without faults."""
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        """Add a copy of the rule, so that using it up leaves the caller's intact."""
        self._rules.append(replace(rule))

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def rules(self) -> list[FaultRule]:
        """Return copies of the active rules, `times` showing the uses left."""
        return [replace(rule) for rule in self._rules]

    def take(self, path: str) -> FaultRule | None:
        """Return the first rule matching `path` and use it up once."""
        for rule in self._rules:
            if not rule.matches(path):
                continue
            if rule.times is not None:
                rule.times -= 1
                if rule.times == 0:
                    self._rules.remove(rule)
            return rule
        return None


def _optional_int(data: dict[str, Any], key: str) -> int | None:
    """Return `data[key]` as an int, or None when absent or null."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidFaultRuleError(f"{key} must be an integer, got {value!r}")
    return value


def _optional_number(data: dict[str, Any], key: str) -> float | None:
    """Return `data[key]` as a float, or None when absent or null."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidFaultRuleError(f"{key} must be a number of seconds, got {value!r}")
    return float(value)


def _flag(data: dict[str, Any], key: str) -> bool:
    """Return `data[key]` as a bool, False when absent."""
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise InvalidFaultRuleError(f"{key} must be true or false, got {value!r}")
    return value


def _business_error(value: object) -> tuple[int, str] | None:
    """Read a business error given as {"code", "msg"} or [code, msg]."""
    if value is None:
        return None
    if isinstance(value, dict):
        code, message = value.get("code"), value.get("msg", "")
    elif isinstance(value, list) and len(value) == 2:
        code, message = value
    else:
        raise InvalidFaultRuleError(
            f'business_error must be {{"code": N, "msg": TEXT}}, got {value!r}'
        )
    if isinstance(code, bool) or not isinstance(code, int) or code == 0:
        raise InvalidFaultRuleError(
            f"business_error code must be a non-zero integer: {code!r}"
        )
    if not isinstance(message, str):
        raise InvalidFaultRuleError(
            f"business_error msg must be a string, got {message!r}"
        )
    return code, message
