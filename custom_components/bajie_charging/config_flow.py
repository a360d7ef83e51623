"""Config flow: agent credentials, server, and the cloud's push registration."""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any
from urllib.parse import urlsplit

from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio as vol

from .api import DEFAULT_BASE_URL, ChargeNowAuthError, ChargeNowClient, ChargeNowError
from .api.models import PushConfig
from .const import (
    CONF_BASE_URL,
    CONF_PREVIOUS_PUSH_CONFIG,
    CONF_PUSH_URL,
    CONF_REGISTER_PUSH,
    CONF_WEBHOOK_ID,
    DOMAIN,
)
from .options_flow import BajieOptionsFlow
from .push_config import (
    async_register_push_url,
    async_restore_account_push_config,
    conflicting_push_url,
    webhook_push_url,
)

_LOGGER = logging.getLogger(__name__)

CONF_REPLACE_PUSH_URL = "replace_push_url"

PASSWORD_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))


USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_USERNAME): str,
        vol.Required(CONF_PASSWORD): PASSWORD_SELECTOR,
        vol.Required(CONF_BASE_URL, default=DEFAULT_BASE_URL): URL_SELECTOR,
        vol.Required(CONF_REGISTER_PUSH, default=False): bool,
    }
)


RECONFIGURE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_USERNAME): str,
        vol.Required(CONF_PASSWORD): PASSWORD_SELECTOR,
        vol.Required(CONF_BASE_URL): URL_SELECTOR,
    }
)


def normalize_base_url(url: str) -> str | None:
    """Return the URL without a trailing slash, or None when it is not http(s)."""
    text = url.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return text


def account_unique_id(username: str, base_url: str) -> str:
    """Return the unique id of an agent account on one server."""
    parts = urlsplit(base_url)
    return f"{username.strip().lower()}@{parts.netloc.lower()}{parts.path}"


class BajieConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up an agent account of the Bajie Charging / ChargeNow cloud."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing entered."""
        self._data: dict[str, Any] = {}
        self._client: ChargeNowClient | None = None
        self._current_push_config: PushConfig | None = None

    def _make_client(self, data: Mapping[str, Any]) -> ChargeNowClient:
        return ChargeNowClient(
            async_get_clientsession(self.hass),
            data[CONF_USERNAME],
            data[CONF_PASSWORD],
            data[CONF_BASE_URL],
        )

    async def _async_validate(self, data: Mapping[str, Any]) -> dict[str, str]:
        """Call the cloud with the credentials; return form errors by field."""
        try:
            client = self._make_client(data)
        except ValueError:
            # The client rejects a username with a colon, which Basic
            # authentication cannot carry.
            return {"base": "invalid_auth"}
        try:
            await client.async_list_cabinets()
        except ChargeNowAuthError:
            return {"base": "invalid_auth"}
        except ChargeNowError as err:
            _LOGGER.debug("Validating the account failed: %s", err)
            return {"base": "cannot_connect"}
        except Exception:
            _LOGGER.exception("Unexpected error while validating the account")
            return {"base": "unknown"}
        self._client = client
        return {}

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the agent credentials and the server, then check them."""
        errors: dict[str, str] = {}
        if user_input is not None:
            base_url = normalize_base_url(user_input[CONF_BASE_URL])
            if base_url is None:
                errors[CONF_BASE_URL] = "invalid_url"
            else:
                data = {**user_input, CONF_BASE_URL: base_url}
                data[CONF_USERNAME] = data[CONF_USERNAME].strip()
                await self.async_set_unique_id(
                    account_unique_id(data[CONF_USERNAME], base_url)
                )
                self._abort_if_unique_id_configured()
                errors = await self._async_validate(data)
                if not errors:
                    self._data = data
                    self._data[CONF_WEBHOOK_ID] = webhook.async_generate_id()
                    if data[CONF_REGISTER_PUSH]:
                        return await self.async_step_register_push()
                    return self._async_create_account_entry()

        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                USER_SCHEMA,
                {
                    key: value
                    for key, value in (user_input or {}).items()
                    if key != CONF_PASSWORD
                },
            ),
            errors=errors,
        )

    def _webhook_url(self) -> str | None:
        return webhook_push_url(self.hass, self._data[CONF_WEBHOOK_ID])

    async def async_step_register_push(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Register the webhook URL in the cloud unless another URL is there."""
        assert self._client is not None
        url = self._webhook_url()
        if url is None:
            return self.async_abort(reason="no_url_available")
        try:
            current = await self._client.async_get_push_config()
        except ChargeNowError as err:
            _LOGGER.warning("Could not read the cloud's push configuration: %s", err)
            return self.async_abort(reason="push_config_unavailable")

        self._current_push_config = current
        if conflicting_push_url(current, url) is not None:
            return await self.async_step_push_conflict()
        return await self._async_register_and_create(url)

    async def async_step_push_conflict(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask before replacing a push URL that points somewhere else."""
        assert self._current_push_config is not None
        url = self._webhook_url()
        other_url = conflicting_push_url(self._current_push_config, url or "")
        if user_input is not None:
            if user_input[CONF_REPLACE_PUSH_URL] and url is not None:
                return await self._async_register_and_create(url)
            self._data[CONF_REGISTER_PUSH] = False
            return self._async_create_account_entry()

        return self.async_show_form(
            step_id="push_conflict",
            data_schema=vol.Schema(
                {vol.Required(CONF_REPLACE_PUSH_URL, default=False): bool}
            ),
            description_placeholders={"current_url": other_url or ""},
        )

    async def _async_register_and_create(self, url: str) -> ConfigFlowResult:
        assert self._client is not None
        assert self._current_push_config is not None
        try:
            registered = await async_register_push_url(
                self._client, url, self._current_push_config, entry_data={}
            )
        except ChargeNowError as err:
            _LOGGER.warning("Could not register the push URL in the cloud: %s", err)
            return self.async_abort(reason="push_config_unavailable")
        self._data.update(registered)
        return self._async_create_account_entry()

    def _async_create_account_entry(self) -> ConfigFlowResult:
        url = self._webhook_url()
        return self.async_create_entry(
            title=self._data[CONF_USERNAME],
            data=self._data,
            description_placeholders={"webhook_url": url or "-"},
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start re-authentication after the cloud rejected the credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the password again and update the existing entry."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_PASSWORD: user_input[CONF_PASSWORD]}
            errors = await self._async_validate(data)
            if not errors:
                return self.async_update_reload_and_abort(entry, data=data)

        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_PASSWORD): PASSWORD_SELECTOR}),
            description_placeholders={"username": entry.data[CONF_USERNAME]},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the server or the credentials of an existing entry."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            base_url = normalize_base_url(user_input[CONF_BASE_URL])
            if base_url is None:
                errors[CONF_BASE_URL] = "invalid_url"
            else:
                data = {
                    **entry.data,
                    CONF_USERNAME: user_input[CONF_USERNAME].strip(),
                    CONF_PASSWORD: user_input[CONF_PASSWORD],
                    CONF_BASE_URL: base_url,
                }
                unique_id = account_unique_id(data[CONF_USERNAME], base_url)
                await self.async_set_unique_id(unique_id)
                if unique_id != entry.unique_id:
                    self._abort_if_unique_id_configured()
                errors = await self._async_validate(data)
                if not errors:
                    if unique_id != entry.unique_id:
                        data = await self._async_leave_account(entry.data, data)
                    return self.async_update_reload_and_abort(
                        entry,
                        unique_id=unique_id,
                        title=data[CONF_USERNAME],
                        data=data,
                    )

        suggested = {**entry.data, **(user_input or {})}
        suggested.pop(CONF_PASSWORD, None)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                RECONFIGURE_SCHEMA, suggested
            ),
            errors=errors,
        )

    async def _async_leave_account(
        self, old_data: Mapping[str, Any], new_data: dict[str, Any]
    ) -> dict[str, Any]:
        """Restore the old account's push configuration and unregister new_data.

        The push registration belongs to the old account, so the new account
        starts unregistered until the user registers it in the options.
        """
        if not old_data.get(CONF_PUSH_URL):
            return new_data
        try:
            await async_restore_account_push_config(self.hass, old_data)
        except ChargeNowError as err:
            # A dead old server is a common reason to move the entry, so the
            # reconfiguration goes on without the restore.
            _LOGGER.warning(
                "Could not restore the push configuration of the previous agent"
                " account: %s. Check that account's event push settings in the"
                " ChargeNow portal",
                err,
            )
        data = dict(new_data)
        data.pop(CONF_PUSH_URL, None)
        data.pop(CONF_PREVIOUS_PUSH_CONFIG, None)
        data[CONF_REGISTER_PUSH] = False
        return data

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> BajieOptionsFlow:
        """Return the options flow of an entry."""
        return BajieOptionsFlow()
