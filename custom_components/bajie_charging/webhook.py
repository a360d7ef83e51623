"""Receiver of the cloud's cabinet event pushes.

The webhook is reachable from the internet and its only secret is its id.
Every body is size-limited, decoded as JSON whatever its content type, and
validated before it touches any state. Malformed input gets HTTP 400,
accepted or deliberately ignored input HTTP 200, and nothing raises.
"""

from __future__ import annotations

from http import HTTPStatus
import json
import logging
import time

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.const import CONF_USERNAME
from homeassistant.core import HomeAssistant, callback

from .api.push import InvalidPushError, parse_push
from .const import DOMAIN, MAX_PUSH_BODY_BYTES
from .coordinator import BajieConfigEntry

_LOGGER = logging.getLogger(__name__)

WARNING_INTERVAL_SECONDS = 300.0
"""Bad pushes log at most one warning per reason in this many seconds."""


class _RateLimitedWarnings:
    """Logs a warning per reason at most once per interval, counting repeats."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last_logged: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warn(self, reason: str, message: str, *args: object) -> None:
        now = time.monotonic()
        last = self._last_logged.get(reason)
        if last is not None and now - last < self._interval:
            self._suppressed[reason] = self._suppressed.get(reason, 0) + 1
            return
        suppressed = self._suppressed.pop(reason, 0)
        self._last_logged[reason] = now
        if suppressed:
            message += " (%s similar pushes not logged)"
            args = (*args, suppressed)
        _LOGGER.warning(message, *args)


def _response(status: HTTPStatus, message: str) -> web.Response:
    return web.json_response(
        {"code": 0 if status is HTTPStatus.OK else int(status), "msg": message},
        status=status,
    )


async def _read_body(request: web.Request) -> bytes | None:
    """Read at most MAX_PUSH_BODY_BYTES; None when the body is larger."""
    if (request.content_length or 0) > MAX_PUSH_BODY_BYTES:
        return None
    body = bytearray()
    while chunk := await request.content.read(MAX_PUSH_BODY_BYTES + 1 - len(body)):
        body += chunk
        if len(body) > MAX_PUSH_BODY_BYTES:
            return None
    return bytes(body)


@callback
def async_register_webhook(hass: HomeAssistant, entry: BajieConfigEntry) -> None:
    """Register the entry's webhook; it is unregistered when the entry unloads."""
    webhook_id = entry.runtime_data.webhook_id
    warnings = _RateLimitedWarnings(WARNING_INTERVAL_SECONDS)
    username = entry.data[CONF_USERNAME]

    async def handle_push(
        hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """Validate one push and hand it to the coordinator."""
        raw = await _read_body(request)
        if raw is None:
            warnings.warn(
                "too_large", "Rejected a push larger than %s bytes", MAX_PUSH_BODY_BYTES
            )
            return _response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")

        try:
            body = json.loads(raw)
        except UnicodeDecodeError, json.JSONDecodeError, RecursionError:
            warnings.warn("not_json", "Rejected a push that is not valid JSON")
            _LOGGER.debug("Push body that is not JSON: %.200r", raw)
            return _response(HTTPStatus.BAD_REQUEST, "body is not valid JSON")

        try:
            event = parse_push(body)
        except InvalidPushError as err:
            warnings.warn("invalid", "Rejected an invalid push: %s", err)
            _LOGGER.debug("Invalid push body: %.500r", raw)
            return _response(HTTPStatus.BAD_REQUEST, str(err))

        if event.agent_account is not None and event.agent_account != username:
            warnings.warn(
                "other_account",
                "Ignored a push for cabinet %s of another agent account",
                event.cabinet_id,
            )
            return _response(HTTPStatus.OK, "ignored: other agent account")

        _LOGGER.debug("Push %s for cabinet %s", event.kind, event.cabinet_id)
        entry.runtime_data.coordinator.async_apply_push(event)
        return _response(HTTPStatus.OK, "ok")

    webhook.async_register(
        hass,
        DOMAIN,
        entry.title,
        webhook_id,
        handle_push,
        local_only=False,
        allowed_methods=["POST"],
    )
    entry.async_on_unload(lambda: webhook.async_unregister(hass, webhook_id))
