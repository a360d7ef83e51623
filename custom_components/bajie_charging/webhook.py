"""Receiver of the cloud's cabinet event pushes.

The webhook is reachable from the internet and its only secret is its id.
Every body is size-limited, decoded as JSON whatever its content type, and
validated before it touches any state. Malformed input gets HTTP 400,
accepted or deliberately ignored input HTTP 200, and nothing raises.

Each config entry's webhook stays registered from the entry's first setup
until the entry is removed, so a reload, a setup retry or a disabled entry
never leaves its id unregistered. While the entry is not loaded, a valid
push gets HTTP 503 and is not applied.
"""

from __future__ import annotations

from http import HTTPStatus
import json
import logging
import time

from aiohttp import hdrs, web
from homeassistant.components import webhook
from homeassistant.const import CONF_USERNAME
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from .api.push import InvalidPushError, PushEvent, parse_push
from .const import CONF_WEBHOOK_ID, DOMAIN, MAX_PUSH_BODY_BYTES
from .coordinator import BajieConfigEntry, BajieCoordinator

_LOGGER = logging.getLogger(__name__)

LOG_INTERVAL_SECONDS = 300.0
"""Bad pushes log at most one message per reason in this many seconds."""

# Home Assistant's webhook component logs a warning that contains the webhook
# id when a request arrives with a method the webhook was not registered for
# (checked in Home Assistant 2026.10). The id is the webhook's only secret, so
# GET and PUT are registered too, and this handler responds to them with 405
# and logs no id. Only POST reaches the coordinator. HEAD never arrives here,
# because Home Assistant responds to it with 200 itself.
# NOTE: Home Assistant's HTTP security filter still logs a warning with the
# raw path, id included, for a request it rejects as harmful (an unsafe byte
# or query string), before any webhook handler runs.
REGISTERED_METHODS = (hdrs.METH_POST, hdrs.METH_GET, hdrs.METH_PUT)

DATA_PUSH_RECEIVERS: HassKey[dict[str, PushReceiver]] = HassKey(
    f"{DOMAIN}_push_receivers"
)
"""Receiver of each config entry whose webhook is registered, by entry id."""


class _RateLimitedLog:
    """Logs a message per reason at most once per interval, counting repeats."""

    def __init__(self, interval: float) -> None:
        """Start with nothing logged."""
        self._interval = interval
        self._last_logged: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def log(self, level: int, reason: str, message: str, *args: object) -> None:
        """Log the message unless one for the same reason was logged recently."""
        now = time.monotonic()
        last = self._last_logged.get(reason)
        if last is not None and now - last < self._interval:
            self._suppressed[reason] = self._suppressed.get(reason, 0) + 1
            return
        suppressed = self._suppressed.pop(reason, 0)
        self._last_logged[reason] = now
        if suppressed:
            message += " (%s similar requests not logged)"
            args = (*args, suppressed)
        _LOGGER.log(level, message, *args)


def _response(status: HTTPStatus, message: str) -> web.Response:
    return web.json_response(
        {"code": 0 if status is HTTPStatus.OK else int(status), "msg": message},
        status=status,
    )


def _declared_length(request: web.Request) -> int | None:
    """Return the Content-Length header as a number, or None when unreadable."""
    # Requests relayed by Home Assistant Cloud are MockRequest objects, which
    # have headers but no content_length attribute.
    try:
        return int(request.headers.get(hdrs.CONTENT_LENGTH, ""))
    except ValueError:
        return None


async def _read_body(request: web.Request) -> bytes | None:
    """Read the body, or return None when it exceeds MAX_PUSH_BODY_BYTES."""
    declared = _declared_length(request)
    if declared is not None and declared > MAX_PUSH_BODY_BYTES:
        return None

    # MockRequest returns a new reader on every access of `content`, so the
    # reader is taken once.
    stream = request.content
    body = bytearray()
    while chunk := await stream.read(MAX_PUSH_BODY_BYTES + 1 - len(body)):
        body += chunk
        if len(body) > MAX_PUSH_BODY_BYTES:
            return None
    return bytes(body)


def _is_same_account(pushed: str, username: str) -> bool:
    """Return whether the push's agent account is the entry's account."""
    # The config entry's unique id treats the account name as case-insensitive.
    return pushed.strip().casefold() == username.strip().casefold()


class PushReceiver:
    """Validates the pushes of one config entry and applies them while it is loaded.

    One receiver serves the entry from its first setup until its removal, so
    its rate-limited log spans reloads.
    """

    def __init__(self, entry: BajieConfigEntry) -> None:
        """Bind the receiver to its entry, with no coordinator yet."""
        self._entry = entry
        self._coordinator: BajieCoordinator | None = None
        self._log = _RateLimitedLog(LOG_INTERVAL_SECONDS)
        self.webhook_id: str = entry.data[CONF_WEBHOOK_ID]

    @callback
    def async_attach(self, coordinator: BajieCoordinator) -> CALLBACK_TYPE:
        """Apply pushes to the coordinator until the returned callback runs."""
        self._coordinator = coordinator

        @callback
        def detach() -> None:
            if self._coordinator is coordinator:
                self._coordinator = None

        return detach

    async def async_handle(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """Respond to one request to the webhook; never raise."""
        try:
            return await self._async_handle(request)
        except Exception as err:
            # Home Assistant would log the webhook id with the traceback, so
            # the error is logged here without it. The error's text may quote
            # the body, so it goes to the debug log only.
            self._log.log(
                logging.ERROR,
                "internal_error",
                "Failed to process a push (%s); debug logging shows the details",
                type(err).__name__,
            )
            _LOGGER.debug("Failed to process a push", exc_info=True)
            return _response(HTTPStatus.OK, "not processed")

    async def _async_handle(self, request: web.Request) -> web.Response:
        """Read, validate and apply one request."""
        if request.method != hdrs.METH_POST:
            self._log.log(
                logging.WARNING,
                "method",
                "Rejected a %s request to the push webhook, which accepts only POST",
                request.method,
            )
            response = _response(HTTPStatus.METHOD_NOT_ALLOWED, "only POST is allowed")
            response.headers[hdrs.ALLOW] = hdrs.METH_POST
            return response

        raw = await _read_body(request)
        if raw is None:
            self._log.log(
                logging.WARNING,
                "too_large",
                "Rejected a push larger than %s bytes",
                MAX_PUSH_BODY_BYTES,
            )
            return _response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")

        try:
            body = json.loads(raw)
        except ValueError, RecursionError:
            # ValueError covers invalid JSON and UTF-8, and integers longer
            # than Python's int conversion limit (4300 digits by default).
            self._log.log(
                logging.WARNING, "not_json", "Rejected a push that is not valid JSON"
            )
            _LOGGER.debug("Push body that is not JSON: %.200r", raw)
            return _response(HTTPStatus.BAD_REQUEST, "body is not valid JSON")

        try:
            event = parse_push(body)
        except InvalidPushError as err:
            self._log.log(
                logging.WARNING, "invalid", "Rejected an invalid push: %s", err
            )
            _LOGGER.debug("Invalid push body: %.500r", raw)
            return _response(HTTPStatus.BAD_REQUEST, str(err))

        return self._apply(event)

    def _apply(self, event: PushEvent) -> web.Response:
        """Hand a valid push to the coordinator unless it is for another account."""
        # NOTE: a push without agentAccount is applied. The wire format always
        # sends it, and the secret webhook id already identifies the entry.
        account = event.agent_account
        username: str = self._entry.data[CONF_USERNAME]
        if account is not None and not _is_same_account(account, username):
            self._log.log(
                logging.WARNING,
                "other_account",
                "Ignored a push for cabinet %s of another agent account",
                event.cabinet_id,
            )
            return _response(HTTPStatus.OK, "ignored: other agent account")

        # The coordinator is looked up only now, because the entry may have
        # unloaded or reloaded while the body was arriving.
        coordinator = self._coordinator
        if coordinator is None:
            self._log.log(
                logging.DEBUG,
                "not_loaded",
                "Answered a push with HTTP 503 because the config entry is not"
                " loaded (state %s)",
                self._entry.state.value,
            )
            return _response(HTTPStatus.SERVICE_UNAVAILABLE, "not ready")

        _LOGGER.debug("Push %s for cabinet %s", event.kind, event.cabinet_id)
        coordinator.async_apply_push(event)
        return _response(HTTPStatus.OK, "ok")


@callback
def async_register_webhooks(hass: HomeAssistant) -> None:
    """Register the webhook of every config entry, disabled ones included."""
    for entry in hass.config_entries.async_entries(DOMAIN, include_ignore=False):
        try:
            async_register_webhook(hass, entry)
        except ValueError as err:
            # Only this entry is affected: its own setup registers again and
            # fails with the same error. The error's text does not contain the id.
            _LOGGER.warning(
                "Could not register the webhook of config entry %s: %s",
                entry.entry_id,
                err,
            )


@callback
def async_register_webhook(
    hass: HomeAssistant, entry: BajieConfigEntry
) -> PushReceiver:
    """Register the entry's webhook under its current title and return its receiver.

    Registering again keeps the receiver and only renews the name and id
    shown in Home Assistant. The webhook stays registered until
    `async_unregister_webhook` runs at the entry's removal.
    """
    receivers = hass.data.setdefault(DATA_PUSH_RECEIVERS, {})
    receiver = receivers.pop(entry.entry_id, None)
    if receiver is None:
        receiver = PushReceiver(entry)
    else:
        webhook.async_unregister(hass, receiver.webhook_id)
        receiver.webhook_id = entry.data[CONF_WEBHOOK_ID]

    webhook.async_register(
        hass,
        DOMAIN,
        entry.title,
        receiver.webhook_id,
        receiver.async_handle,
        local_only=False,
        allowed_methods=REGISTERED_METHODS,
    )
    # Stored only once registered, so that removal never unregisters an id
    # that another integration registered.
    receivers[entry.entry_id] = receiver
    return receiver


@callback
def async_unregister_webhook(hass: HomeAssistant, entry: BajieConfigEntry) -> None:
    """Unregister the webhook of a removed entry, if this run registered it."""
    receiver = hass.data.get(DATA_PUSH_RECEIVERS, {}).pop(entry.entry_id, None)
    if receiver is not None:
        webhook.async_unregister(hass, receiver.webhook_id)
