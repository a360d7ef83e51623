"""Asyncio client for the ChargeNow cloud API."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
import logging
import math
import time
from typing import Any

import aiohttp
from yarl import URL

from .exceptions import (
    ChargeNowApiError,
    ChargeNowAuthError,
    ChargeNowCommandUnknownError,
    ChargeNowConnectionError,
    ChargeNowError,
    ChargeNowRateLimitError,
    ChargeNowResponseError,
    ChargeNowTimeoutError,
)
from .models import Cabinet, PushConfig, to_int, to_str

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://developer.chargenow.top/cdb-open-api/v1"
DEFAULT_TIMEOUT = 15.0
"""Maximum time in seconds for one HTTP request, from connecting to the body."""
DEFAULT_PAGE_SIZE = 100
DEFAULT_RETRY_DELAYS = (0.5, 1.0)

MAX_LISTING_PAGES = 1000
"""Maximum pages read per listing, so a cloud that pages forever ends the loop."""
MAX_RETRY_AFTER = 3600.0
"""Maximum wait in seconds read from a Retry-After header. Longer values are
cut to this, so a garbled header cannot stop polling for days."""

_LISTING_PAGE_PATH = "/cabinet/getAllDevicePage"
_LISTING_PATH = "/cabinet/getAllDevice"
_DEVICE_INFO_PATH = "/rent/cabinet/query"
_EJECT_BY_REPAIR_PATH = "/cabinet/ejectByRepair"
_EJECT_BY_RENT_PATH = "/cabinet/ejectByRent"
_OPERATION_PATH = "/cabinet/operation"
_PUSH_CONFIG_GET_PATH = "/cabinet/eventPush/config/get"
_PUSH_CONFIG_SET_PATH = "/cabinet/eventPush/config"

# The paged listing's items arrive under one of these keys, depending on the
# backend version.
_LISTING_ITEM_KEYS = ("list", "records", "rows")

_AUTH_CODES = frozenset({401, 403})
_HTTP_NOT_FOUND = 404
_HTTP_TOO_MANY_REQUESTS = 429
_HTTP_SERVER_ERROR = 500


class EjectMode(StrEnum):
    """Reason for ejecting a battery: maintenance or handing it to a renter."""

    REPAIR = "repair"
    RENT = "rent"


class Operation(StrEnum):
    """Cabinet operation sent to `/cabinet/operation`.

    The cloud also accepts `popall`, `popallForNoAuth` and `popallForAuth`,
    which eject every battery. They are left out on purpose.
    """

    RESTART = "restart"
    POP = "pop"
    LOCK = "lock"
    UNLOCK = "unlock"
    HEARTBEAT = "heartbeat"
    REPORT = "report"
    LOCK_STOP_CHARGE = "lockStopCharge"


class _HttpStatusError(ChargeNowConnectionError):
    """The cloud responded with an HTTP status that has no more specific error."""

    def __init__(self, message: str, status: int) -> None:
        """Store the HTTP status."""
        super().__init__(message)
        self.status = status


class _ConnectionNotOpenedError(ChargeNowConnectionError):
    """The connection to the cloud never opened, so no part of the request was sent."""


class _CommandServerError(ChargeNowCommandUnknownError, _HttpStatusError):
    """A command got HTTP 5xx, which a proxy or the cloud may send after acting."""


class _CommandReplyError(ChargeNowCommandUnknownError, ChargeNowResponseError):
    """A command got a reply that is not a readable envelope, after it was sent."""


_MAY_HAVE_ACTED = "so the cabinet may have acted on it"


class ChargeNowClient:
    """Client for one agent account on the ChargeNow cloud.

    Reads are retried after connection errors, timeouts and HTTP 5xx. Commands
    move hardware, so they are retried only when the connection never opened.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        username: str,
        password: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        page_size: int = DEFAULT_PAGE_SIZE,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
    ) -> None:
        """Store the session, credentials and settings.

        Raise ValueError for an invalid setting. The username must not contain
        a colon, because HTTP Basic auth cannot carry one. `retry_delays` are
        the seconds to wait before each retry of a read, and their count is the
        number of retries.
        """
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        if not _is_positive_int(page_size):
            raise ValueError(f"page_size must be an int >= 1, got {page_size!r}")
        if any(not delay >= 0 for delay in retry_delays):
            raise ValueError(f"retry_delays must not be negative: {retry_delays!r}")
        url = URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")

        self._session = session
        self._username = username
        self._base_url = base_url.rstrip("/")
        self._headers = {
            "Authorization": aiohttp.encode_basic_auth(username, password),
            "Accept": "application/json",
        }
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._page_size = page_size
        self._retry_delays = retry_delays
        self._paged_listing = True
        self.request_count = 0
        """Number of HTTP requests sent so far, retries included.

        NOTE: aiohttp may resend a GET once by itself when a kept-alive
        connection turns out to be closed, and this count does not see that.
        """

    @property
    def base_url(self) -> str:
        """Base URL of the cloud API, without a trailing slash."""
        return self._base_url

    @property
    def username(self) -> str:
        """Agent account name used for HTTP Basic auth."""
        return self._username

    async def async_list_cabinets(self) -> list[Cabinet]:
        """Fetch every cabinet of the account, page by page.

        Listing items carry counters but no battery list. Items without a
        cabinet id are skipped. When an id appears twice, the last item wins.
        """
        cabinets: dict[str, Cabinet] = {}
        skipped = 0
        received = 0

        for page in range(1, MAX_LISTING_PAGES + 1):
            data = await self._request_listing_page(page)
            items, total, reply_limit = _parse_listing_page(data)
            skipped += _collect_cabinets(items, cabinets)
            received += len(items)

            # A server may cap the page size and report the cap in `limit` (the
            # simulator caps it at 500). A page of the capped size is full.
            limit = self._page_size
            if reply_limit is not None and reply_limit >= 1:
                limit = min(limit, reply_limit)
            if isinstance(data, list) or _is_last_page(items, received, total, limit):
                break
        else:
            _LOGGER.warning(
                "Stopped reading the cabinet listing after %d pages; %d cabinets read",
                MAX_LISTING_PAGES,
                len(cabinets),
            )

        if skipped:
            _LOGGER.debug("Skipped %d listing items without a cabinet id", skipped)
        return list(cabinets.values())

    async def _request_listing_page(self, page: int) -> Any:
        """Fetch one page of the listing, or the whole unpaged listing.

        After the paged endpoint responds with HTTP 404 on the first page, this
        client reads the unpaged endpoint instead, then and on later calls.
        """
        if self._paged_listing:
            params = {"page": str(page), "limit": str(self._page_size)}
            try:
                return await self._request("GET", _LISTING_PAGE_PATH, params=params)
            except _HttpStatusError as err:
                if err.status != _HTTP_NOT_FOUND or page != 1:
                    raise
            _LOGGER.debug("%s not found, using %s", _LISTING_PAGE_PATH, _LISTING_PATH)
            self._paged_listing = False
        return await self._request("GET", _LISTING_PATH)

    async def async_get_cabinet(self, cabinet_id: str) -> Cabinet:
        """Fetch one cabinet with its battery list and shop."""
        _validate_text("cabinet_id", cabinet_id)
        data = await self._request(
            "GET", _DEVICE_INFO_PATH, params={"deviceId": cabinet_id}
        )
        cabinet = Cabinet.from_device_info(data) if isinstance(data, Mapping) else None
        if cabinet is None:
            raise ChargeNowResponseError(
                f"device info for {cabinet_id} contains no cabinet with an id"
            )
        return cabinet

    async def async_eject_by_repair(self, cabinet_id: str, slot: int) -> None:
        """Eject the battery in one slot for maintenance."""
        _validate_text("cabinet_id", cabinet_id)
        _validate_slot(slot)
        params = {"cabinetid": cabinet_id, "slotNum": str(slot)}
        await self._request("POST", _EJECT_BY_REPAIR_PATH, params=params, command=True)

    async def async_eject_by_rent(
        self, cabinet_id: str, slot: int, order_id: str
    ) -> None:
        """Eject the battery in one slot and hand it over for a rental order."""
        _validate_text("cabinet_id", cabinet_id)
        _validate_slot(slot)
        _validate_text("order_id", order_id)
        params = {
            "cabinetid": cabinet_id,
            "slotNum": str(slot),
            "rentOrderId": order_id,
        }
        await self._request("POST", _EJECT_BY_RENT_PATH, params=params, command=True)

    async def async_operate(
        self,
        cabinet_id: str,
        operation: Operation,
        slot: int = 1,
        reason: str = "home_assistant",
    ) -> None:
        """Send an operation such as restart or lock to a cabinet.

        Raise ValueError for an operation outside `Operation`, so the
        eject-all operations cannot be sent as plain strings.
        """
        _validate_text("cabinet_id", cabinet_id)
        operation = Operation(operation)
        _validate_slot(slot)
        _validate_text("reason", reason)
        params = {
            "cabinetid": cabinet_id,
            "slotNum": str(slot),
            "operationType": operation.value,
            "reason": reason,
        }
        await self._request("POST", _OPERATION_PATH, params=params, command=True)

    async def async_get_push_config(self) -> PushConfig:
        """Fetch the account's event push configuration.

        A null `data` is read as "nothing configured". Any other shape that is
        not an object raises, so a garbled reply never looks like an empty
        configuration that could then be overwritten.
        """
        data = await self._request("GET", _PUSH_CONFIG_GET_PATH)
        if data is not None and not isinstance(data, Mapping):
            raise ChargeNowResponseError(
                f"push configuration is a {type(data).__name__}, expected an object"
            )
        return PushConfig.from_json(data)

    async def async_set_push_config(self, config: PushConfig) -> None:
        """Replace the account's event push configuration."""
        await self._request(
            "POST", _PUSH_CONFIG_SET_PATH, json=config.to_json(), command=True
        )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        command: bool = False,
    ) -> Any:
        """Send a request, retrying as allowed, and return the envelope's data.

        Reads are retried once per entry of retry_delays after a transport
        error, a timeout or HTTP 5xx. A command is retried at most once, and
        only when its connection never opened.
        """
        retry_delays = self._retry_delays[:1] if command else self._retry_delays
        attempt = 0
        while True:
            try:
                return await self._send(
                    method, path, params=params, json=json, command=command
                )
            except ChargeNowError as err:
                if attempt >= len(retry_delays) or not _is_retryable(err, command):
                    raise
                delay = retry_delays[attempt]
                attempt += 1
                _LOGGER.debug(
                    "Retrying %s %s in %.1f s (retry %d) after error: %s",
                    method,
                    path,
                    delay,
                    attempt,
                    err,
                )
                await asyncio.sleep(delay)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        json: Any,
        command: bool,
    ) -> Any:
        """Send one HTTP request and return the envelope's data."""
        self.request_count += 1
        started = time.monotonic()
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                params=params,
                json=json,
                headers=self._headers,
                timeout=self._timeout,
                raise_for_status=False,
            ) as response:
                _LOGGER.debug(
                    "%s %s returned HTTP %d after %.3f s",
                    method,
                    path,
                    response.status,
                    time.monotonic() - started,
                )
                _raise_for_status(response, method, path, command=command)
                try:
                    body = await response.json(content_type=None)
                except ValueError as err:
                    raise _reply_error(
                        f"{method} {path} returned a body that is not JSON", command
                    ) from err
        except TimeoutError as err:
            _LOGGER.debug(
                "%s %s timed out after %.3f s", method, path, time.monotonic() - started
            )
            if command:
                raise ChargeNowCommandUnknownError(
                    f"{method} {path} timed out, {_MAY_HAVE_ACTED}"
                ) from err
            raise ChargeNowTimeoutError(f"{method} {path} timed out") from err
        except aiohttp.ClientConnectorError as err:
            raise _ConnectionNotOpenedError(
                f"cannot connect to the cloud for {method} {path}: {err}"
            ) from err
        except aiohttp.ClientError as err:
            if command:
                raise ChargeNowCommandUnknownError(
                    f"{method} {path} lost its connection after the request may "
                    f"have been sent ({err}), {_MAY_HAVE_ACTED}"
                ) from err
            raise ChargeNowConnectionError(f"{method} {path} failed: {err}") from err

        return _unwrap_envelope(body, method, path, command=command)


def _reply_error(message: str, command: bool) -> ChargeNowResponseError:
    """Return the error for an unreadable reply.

    For a command it is also a ChargeNowCommandUnknownError, because the
    cloud received the command before it sent the reply.
    """
    if command:
        return _CommandReplyError(f"{message}, {_MAY_HAVE_ACTED}")
    return ChargeNowResponseError(message)


def _raise_for_status(
    response: aiohttp.ClientResponse, method: str, path: str, *, command: bool
) -> None:
    """Raise the client's error for an HTTP status that is not 2xx.

    HTTP 5xx to a command raises a ChargeNowCommandUnknownError that is also
    a ChargeNowConnectionError, because a gateway may time out or fail after
    the cloud acted on the command.
    """
    status = response.status
    if 200 <= status < 300:
        return
    if status in _AUTH_CODES:
        raise ChargeNowAuthError(f"the cloud rejected the credentials (HTTP {status})")
    if status == _HTTP_TOO_MANY_REQUESTS:
        retry_after = _parse_retry_after(response.headers.get("Retry-After"))
        raise ChargeNowRateLimitError(
            f"{method} {path} was rate limited by the cloud (HTTP 429)", retry_after
        )
    if command and status >= _HTTP_SERVER_ERROR:
        raise _CommandServerError(
            f"{method} {path} returned HTTP {status}, {_MAY_HAVE_ACTED}", status
        )
    raise _HttpStatusError(f"{method} {path} returned HTTP {status}", status)


def _unwrap_envelope(body: object, method: str, path: str, *, command: bool) -> Any:
    """Return the `data` of a successful envelope, or raise for any other body."""
    if not isinstance(body, Mapping):
        raise _reply_error(
            f"{method} {path} returned a JSON {type(body).__name__}, "
            "expected an object",
            command,
        )
    code = to_int(body.get("code"))
    if code is None:
        raise _reply_error(
            f"{method} {path} returned no readable code: {body.get('code')!r}",
            command,
        )
    message = to_str(body.get("msg")) or ""
    if code in _AUTH_CODES:
        raise ChargeNowAuthError(
            f"the cloud rejected the credentials (code {code}: {message})"
        )
    if code != 0:
        raise ChargeNowApiError(code, message)
    return body.get("data")


def _is_retryable(err: ChargeNowError, command: bool) -> bool:
    """Return whether a failed attempt may be sent again."""
    if command:
        return isinstance(err, _ConnectionNotOpenedError)
    if isinstance(err, ChargeNowRateLimitError):
        return False
    if isinstance(err, _HttpStatusError):
        # A 4xx status such as 404 would only repeat itself.
        return err.status >= _HTTP_SERVER_ERROR
    return isinstance(err, ChargeNowConnectionError)


def _parse_retry_after(value: str | None) -> float | None:
    """Read a Retry-After header as seconds from now.

    The header contains either a number of seconds or an HTTP-date. Return None
    when it is absent or unreadable, and at most MAX_RETRY_AFTER.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds) and seconds >= 0:
            return min(seconds, MAX_RETRY_AFTER)
        return None

    try:
        moment = parsedate_to_datetime(text)
    except TypeError, ValueError:
        return None
    if moment.tzinfo is None:
        # HTTP-dates are always in GMT.
        moment = moment.replace(tzinfo=UTC)
    seconds = (moment - datetime.now(UTC)).total_seconds()
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _parse_listing_page(data: object) -> tuple[list[Any], int | None, int | None]:
    """Return a listing page's items, its total and its page size.

    A plain list is the whole fleet, without total or page size.
    """
    if isinstance(data, list):
        return data, None, None
    if not isinstance(data, Mapping):
        raise ChargeNowResponseError(
            f"cabinet listing is a {type(data).__name__}, expected an object or list"
        )

    total = to_int(data.get("total"))
    limit = to_int(data.get("limit"))
    for key in _LISTING_ITEM_KEYS:
        items = data.get(key)
        if isinstance(items, list):
            return items, total, limit
    if total == 0:
        return [], total, limit
    raise ChargeNowResponseError(
        f"cabinet listing has no item list under any of {_LISTING_ITEM_KEYS}"
    )


def _collect_cabinets(items: list[Any], cabinets: dict[str, Cabinet]) -> int:
    """Add the parsed items to cabinets by id and return how many were skipped."""
    skipped = 0
    for item in items:
        cabinet = Cabinet.from_json(item) if isinstance(item, Mapping) else None
        if cabinet is None:
            skipped += 1
            continue
        cabinets[cabinet.cabinet_id] = cabinet
    return skipped


def _is_last_page(
    items: list[Any], received: int, total: int | None, limit: int
) -> bool:
    """Return whether the listing ends with this page.

    `received` counts every item of every page so far, skipped and duplicate
    ones included, because `total` counts the cloud's records.
    """
    if not items or len(items) < limit:
        return True
    return total is not None and received >= total


def _is_positive_int(value: object) -> bool:
    """Return whether value is an int of at least 1, bools excluded."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _validate_slot(slot: object) -> None:
    """Raise ValueError unless slot names one slot.

    Slot 0 or a missing slot makes the cloud eject every slot.
    """
    if not _is_positive_int(slot):
        raise ValueError(f"slot must be an int >= 1, got {slot!r}")


def _validate_text(name: str, value: object) -> None:
    """Raise ValueError unless value is a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
