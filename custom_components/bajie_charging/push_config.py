"""The cloud's event push configuration: read, register our URL, restore.

The cloud keeps one push configuration per agent account, and it may point
at another system of the operator. It is always read before it is written,
a different URL is only replaced after the user chose so, and removing the
entry puts back what was there before unless someone changed it since.
"""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses
import logging
from typing import Any

from homeassistant.components import webhook
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.network import NoURLAvailableError

from .api import ChargeNowClient, ChargeNowError
from .api.models import EventSubscription, PushConfig
from .api.push import PushKind
from .const import (
    CONF_BASE_URL,
    CONF_PREVIOUS_PUSH_CONFIG,
    CONF_PUSH_URL,
)
from .coordinator import BajieConfigEntry

_LOGGER = logging.getLogger(__name__)


def webhook_push_url(hass: HomeAssistant, webhook_id: str) -> str | None:
    """Return the webhook's URL on Home Assistant's external URL, or None.

    The cloud pushes from the internet, so an internal URL such as
    http://192.168.1.10:8123 is never used. Home Assistant Cloud's remote URL
    is not used either, because webhook.async_generate_url does not offer it.
    """
    try:
        return webhook.async_generate_url(hass, webhook_id, allow_internal=False)
    except NoURLAvailableError:
        return None


def conflicting_push_url(current: PushConfig, *our_urls: str) -> str | None:
    """Return a receiver URL of the configuration that is not in our_urls."""
    if current.push_url and current.push_url not in our_urls:
        return current.push_url
    for subscription in current.subscriptions:
        if (
            subscription.enabled
            and subscription.push_url
            and subscription.push_url not in our_urls
        ):
            return subscription.push_url
    return None


def push_config_for(url: str) -> PushConfig:
    """Build a configuration that sends every event kind to url."""
    return PushConfig(
        push_url=url,
        subscriptions=tuple(
            EventSubscription(event=kind.value, enabled=True) for kind in PushKind
        ),
    )


async def async_register_push_url(
    client: ChargeNowClient,
    url: str,
    current: PushConfig,
    *,
    entry_data: Mapping[str, Any],
) -> dict[str, Any]:
    """Point the cloud's push configuration at url; return the entry data to keep.

    The caller has read `current` and, where another URL was there, asked the
    user. `entry_data` is the entry's data before this call, empty for a new
    entry. The returned data keeps the configuration to restore on removal.
    """
    await client.async_set_push_config(push_config_for(url))
    return {
        CONF_PUSH_URL: url,
        CONF_PREVIOUS_PUSH_CONFIG: _config_to_restore(current, url, entry_data),
    }


def _config_to_restore(
    current: PushConfig, url: str, entry_data: Mapping[str, Any]
) -> dict[str, Any]:
    """Return, as JSON, the configuration that removing the entry puts back.

    When the entry registered before and the cloud's default URL is still one
    of the entry's own, `current` is no configuration of the operator's, so
    the one saved at the first registration stays. Per-event URLs of other
    systems that `current` has are added to it, because another system set
    them up since. Either way, a URL of the entry is dropped from the result,
    because it is dead once the entry is removed.
    """
    registered_url = entry_data.get(CONF_PUSH_URL)
    our_urls = {url}
    if registered_url:
        our_urls.add(registered_url)
    config = current
    if registered_url and current.push_url in our_urls:
        saved = PushConfig.from_json(entry_data.get(CONF_PREVIOUS_PUSH_CONFIG))
        config = _with_other_event_urls(saved, current, our_urls)
    return _without_urls(config, our_urls).to_json()


def _with_other_event_urls(
    config: PushConfig, current: PushConfig, our_urls: set[str]
) -> PushConfig:
    """Return config with the per-event URLs of other systems in current."""
    others = {
        subscription.event: subscription
        for subscription in current.subscriptions
        if subscription.push_url and subscription.push_url not in our_urls
    }
    if not others:
        return config
    subscriptions = [
        others.pop(subscription.event, subscription)
        for subscription in config.subscriptions
    ]
    subscriptions.extend(others.values())
    return dataclasses.replace(config, subscriptions=tuple(subscriptions))


def _without_urls(config: PushConfig, urls: set[str]) -> PushConfig:
    """Return config with each of urls replaced by an empty URL.

    An empty per-event URL makes the cloud push that event to the default
    URL, and an empty default URL leaves the configuration without a receiver.
    """
    subscriptions = tuple(
        dataclasses.replace(subscription, push_url="")
        if subscription.push_url in urls
        else subscription
        for subscription in config.subscriptions
    )
    push_url = "" if config.push_url in urls else config.push_url
    return PushConfig(push_url=push_url, subscriptions=subscriptions)


async def async_restore_push_config(
    hass: HomeAssistant, entry: BajieConfigEntry
) -> bool:
    """Put back the configuration found before the entry registered its URL.

    Returns False, after logging a warning, when the cloud could not be read
    or written. See async_restore_account_push_config for what is written.
    """
    try:
        await async_restore_account_push_config(hass, entry.data)
    except ChargeNowError as err:
        _LOGGER.warning(
            "Could not restore the cloud's push configuration: %s; check it in the"
            " ChargeNow portal",
            err,
        )
        return False
    return True


async def async_restore_account_push_config(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> None:
    """Restore the push configuration of the account in entry data `data`.

    Nothing is written when `data` has no registered URL, or when the cloud
    no longer points only at that URL, because then someone changed the
    configuration since. Raises ChargeNowError when the cloud could not be
    read or written.
    """
    our_url = data.get(CONF_PUSH_URL)
    if not our_url:
        return
    client = ChargeNowClient(
        async_get_clientsession(hass),
        data[CONF_USERNAME],
        data[CONF_PASSWORD],
        data[CONF_BASE_URL],
    )
    previous = PushConfig.from_json(data.get(CONF_PREVIOUS_PUSH_CONFIG))
    current = await client.async_get_push_config()
    if current.push_url != our_url:
        _LOGGER.info(
            "The cloud's push configuration no longer points to Home Assistant;"
            " leaving it unchanged"
        )
        return
    if conflicting_push_url(current, our_url) is not None:
        # Someone sent an event kind to another receiver after Home Assistant
        # registered, and restoring would drop that receiver.
        _LOGGER.info(
            "The cloud's push configuration sends some events to another"
            " receiver, so it is left unchanged"
        )
        return
    await client.async_set_push_config(previous)
    _LOGGER.info("Restored the cloud's previous push configuration")
