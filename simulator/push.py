"""Store the push configuration and deliver pushes, to loopback hosts only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
import ipaddress
import logging
from typing import Any

import aiohttp
from yarl import URL

_LOGGER = logging.getLogger(__name__)

DEFAULT_PUSH_TIMEOUT = 10.0


class InvalidPushConfigError(ValueError):
    """A push configuration field has a wrong type."""


@dataclass(slots=True)
class PushSubscription:
    """Per-event switch, with an optional URL that replaces the default one."""

    event: str
    push_url: str = ""
    enable: bool = True


@dataclass(slots=True)
class PushConfig:
    """Push configuration of the agent account, as the config endpoints carry it."""

    push_url: str = ""
    subscriptions: list[PushSubscription] = field(default_factory=list)

    def url_for(self, event: str) -> str:
        """Return the URL that receives `event`, or "" when it is not pushed.

        An empty subscription list pushes every event to `push_url`.
        """
        if not self.subscriptions:
            return self.push_url
        for subscription in self.subscriptions:
            if subscription.event == event:
                if not subscription.enable:
                    return ""
                return subscription.push_url or self.push_url
        return ""

    def to_json(self) -> dict[str, Any]:
        """Return the configuration in the cloud's JSON shape."""
        return {
            "pushUrl": self.push_url,
            "eventSubscriptions": [
                {
                    "event": subscription.event,
                    "pushUrl": subscription.push_url,
                    "enable": subscription.enable,
                }
                for subscription in self.subscriptions
            ],
        }

    @classmethod
    def from_json(cls, data: object) -> PushConfig:
        """Read the cloud's JSON shape, raising InvalidPushConfigError on a bad field.

        A subscription without `pushUrl` uses the default URL, and one without
        `enable` is enabled.
        """
        if not isinstance(data, dict):
            raise InvalidPushConfigError("push configuration must be a JSON object")
        push_url = data.get("pushUrl")
        if not isinstance(push_url, str):
            raise InvalidPushConfigError(f"pushUrl must be a string, got {push_url!r}")
        items = data.get("eventSubscriptions")
        if items is None:
            items = []
        if not isinstance(items, list):
            raise InvalidPushConfigError(
                f"eventSubscriptions must be a list, got {items!r}"
            )

        return cls(push_url, [_read_subscription(item) for item in items])


def _read_subscription(item: object) -> PushSubscription:
    """Read one item of `eventSubscriptions`."""
    if not isinstance(item, dict):
        raise InvalidPushConfigError(f"subscription must be an object, got {item!r}")

    event = item.get("event")
    if not isinstance(event, str) or not event:
        raise InvalidPushConfigError(f"subscription event must be a string: {event!r}")

    url = item.get("pushUrl")
    if url is None:
        url = ""
    if not isinstance(url, str):
        raise InvalidPushConfigError(f"subscription pushUrl must be a string: {url!r}")

    enable = item.get("enable")
    if enable is None:
        enable = True
    if not isinstance(enable, bool):
        raise InvalidPushConfigError(
            f"subscription enable must be true or false: {enable!r}"
        )
    return PushSubscription(event, url, enable)


@dataclass(slots=True)
class SentPush:
    """Push that was delivered, failed, or skipped because of its host."""

    url: str
    body: dict[str, Any]
    status: int | None = None
    """HTTP status of the receiver's reply, None when none came."""
    error: str | None = None
    skipped: bool = False
    """True when the host is not a loopback address, so nothing was sent."""


def loopback_host(url: str) -> str | None:
    """Return the URL's host when it is an http(s) URL to this machine, else None.

    Loopback means `localhost`, 127.0.0.0/8 or ::1. Any other name is rejected
    without resolving it, so that no lookup or traffic leaves the machine.
    """
    try:
        parsed = URL(url)
    except ValueError:
        return None
    host = parsed.host
    if parsed.scheme not in {"http", "https"} or not host:
        return None
    if host == "localhost":
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return host if address.is_loopback else None


def describe_destination(url: str) -> str:
    """Return host and port of a URL for logs.

    The path is left out because it may contain a webhook id.
    """
    try:
        parsed = URL(url)
    except ValueError:
        return "an invalid URL"
    return f"{parsed.host}:{parsed.port}"


@dataclass(slots=True)
class _PendingPush:
    """Queued push body and the future that receives its outcome."""

    body: dict[str, Any]
    outcome: asyncio.Future[SentPush | None]


class PushSender:
    """Deliver pushes one at a time, in the order they were queued.

    One delivery at a time keeps the pushes of one change in order at the
    receiver, for example BATTERY_POPUP before CABINET_STATUS.
    """

    def __init__(
        self,
        config: Callable[[], PushConfig],
        *,
        timeout: float = DEFAULT_PUSH_TIMEOUT,
    ) -> None:
        """Read the configuration through `config` when each push is sent."""
        self._config = config
        self.timeout = timeout
        self.sent: list[SentPush] = []
        self._queue: asyncio.Queue[_PendingPush] = asyncio.Queue()
        self._session: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None
        self._warned_hosts: set[str] = set()
        self._failing_hosts: set[str] = set()

    @property
    def running(self) -> bool:
        """Return whether the sender accepts pushes."""
        return self._worker is not None

    async def start(self) -> None:
        """Open the HTTP session and start delivering."""
        # trust_env stays False: proxy variables must not route pushes elsewhere.
        self._session = aiohttp.ClientSession()
        self._worker = asyncio.create_task(self._deliver_queued(), name="push sender")

    async def stop(self) -> None:
        """Stop delivering, drop queued pushes and close the session."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

        while not self._queue.empty():
            pending = self._queue.get_nowait()
            pending.outcome.cancel()
            self._queue.task_done()

        if self._session is not None:
            await self._session.close()
            self._session = None

    def enqueue(self, body: dict[str, Any]) -> asyncio.Future[SentPush | None]:
        """Queue a push body and return a future of its record, None if not pushed."""
        if self._worker is None:
            raise RuntimeError(
                "the simulator is not running: await Simulator.start() first"
            )
        outcome: asyncio.Future[SentPush | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._queue.put_nowait(_PendingPush(body, outcome))
        return outcome

    async def wait_idle(self) -> None:
        """Wait until every queued push has been delivered, failed or skipped."""
        await self._queue.join()

    async def _deliver_queued(self) -> None:
        """Deliver queued pushes until cancelled."""
        while True:
            pending = await self._queue.get()
            result: SentPush | None = None
            try:
                result = await self._deliver(pending.body)
            except asyncio.CancelledError:
                pending.outcome.cancel()
                raise
            except Exception:
                # Keep delivering the pushes behind this one.
                _LOGGER.exception("Push %s failed", pending.body.get("event"))
            finally:
                self._queue.task_done()
            if not pending.outcome.done():
                pending.outcome.set_result(result)

    async def _deliver(self, body: dict[str, Any]) -> SentPush | None:
        """Send one push to its URL and record the outcome."""
        kind = str(body.get("event"))
        event_data = body.get("eventData")
        cabinet_id = (
            event_data.get("cabinetId") if isinstance(event_data, dict) else None
        )
        url = self._config().url_for(kind)
        if not url:
            _LOGGER.debug("No push URL enabled for %s, not pushed", kind)
            return None

        if loopback_host(url) is None:
            return self._skip(url, body)

        record = SentPush(url, body)
        destination = describe_destination(url)
        if self._session is None:
            raise RuntimeError("push session is closed")
        try:
            async with self._session.post(
                url,
                json=body,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                await response.read()
                record.status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            record.error = f"{type(err).__name__}: {err}"

        self.sent.append(record)
        self._log_result(kind, cabinet_id, destination, record)
        return record

    def _skip(self, url: str, body: dict[str, Any]) -> SentPush:
        """Record a push to a host off this machine as skipped, warning once."""
        destination = describe_destination(url)
        if destination not in self._warned_hosts:
            self._warned_hosts.add(destination)
            _LOGGER.warning(
                "Push URL host %s is not a loopback address; the simulator sends "
                "pushes only to this machine and skips them",
                destination,
            )
        record = SentPush(
            url,
            body,
            error=f"skipped: {destination} is not a loopback host",
            skipped=True,
        )
        self.sent.append(record)
        return record

    def _log_result(
        self, kind: str, cabinet_id: object, destination: str, record: SentPush
    ) -> None:
        """Log one line per push, and a warning when a receiver starts failing."""
        if record.error is None:
            self._failing_hosts.discard(destination)
            _LOGGER.info(
                "Pushed %s for %s to %s: HTTP %s",
                kind,
                cabinet_id,
                destination,
                record.status,
            )
            return

        if destination not in self._failing_hosts:
            self._failing_hosts.add(destination)
            _LOGGER.warning(
                "Push %s for %s to %s failed: %s; later failures are logged at info",
                kind,
                cabinet_id,
                destination,
                record.error,
            )
        else:
            _LOGGER.info(
                "Push %s for %s to %s failed: %s",
                kind,
                cabinet_id,
                destination,
                record.error,
            )
