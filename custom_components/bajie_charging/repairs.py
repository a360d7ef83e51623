"""Fix flows for push issues: register Home Assistant's webhook URL again."""

from __future__ import annotations

import logging

from homeassistant.components.repairs import (
    ConfirmRepairFlow,
    RepairsFlow,
    RepairsFlowResult,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from yarl import URL

from .api import ChargeNowError
from .const import CONF_PUSH_URL, DOMAIN
from .coordinator import BajieConfigEntry
from .push_config import async_register_push_url, conflicting_push_url
from .push_health import (
    FIXABLE_ISSUES,
    ISSUE_URL_TAKEN_OVER,
    async_raise_taken_over_issue,
    current_webhook_url,
    issue_id,
)

_LOGGER = logging.getLogger(__name__)


class RegisterPushUrlFlow(ConfirmRepairFlow):
    """Points the cloud's push configuration at Home Assistant after a confirm.

    Confirming the taken-over issue is the user's explicit choice to replace
    whatever URL the cloud has now. Confirming any other issue, such as the
    outdated one, allows replacing only the entry's own URLs, so that fix
    aborts when the cloud also pushes to another receiver.
    """

    def __init__(self, entry: BajieConfigEntry, kind: str) -> None:
        """Remember the entry whose push registration is repaired."""
        super().__init__()
        self.entry = entry
        self.kind = kind

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Register the current webhook URL once the user confirms."""
        if user_input is None:
            return await super().async_step_confirm()

        entry = self.entry
        url = current_webhook_url(self.hass, entry)
        if url is None or entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="no_url_available")
        client = entry.runtime_data.client
        try:
            current = await client.async_get_push_config()
            if self.kind != ISSUE_URL_TAKEN_OVER:
                other_url = conflicting_push_url(
                    current, url, entry.data.get(CONF_PUSH_URL, "")
                )
                if other_url is not None:
                    return self._async_abort_other_receiver(other_url)
            registered = await async_register_push_url(
                client, url, current, entry_data=entry.data
            )
        except ChargeNowError as err:
            _LOGGER.warning("Could not register the push URL in the cloud: %s", err)
            return self.async_abort(reason="push_config_unavailable")

        self.hass.config_entries.async_update_entry(
            entry, data={**entry.data, **registered}
        )
        for kind in FIXABLE_ISSUES:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id(entry, kind))
        return self.async_create_entry(data={})

    def _async_abort_other_receiver(self, other_url: str) -> RepairsFlowResult:
        """Abort, and raise the taken-over issue, whose fix may replace other_url."""
        # Another system's URL may carry its own secret, so only its host is
        # logged above debug level.
        _LOGGER.info(
            "Not registering the current webhook URL for %s: the cloud also pushes"
            " to a receiver at %s, which only the taken-over repair may replace",
            self.entry.title,
            _host_of(other_url),
        )
        async_raise_taken_over_issue(self.hass, self.entry, other_url)
        return self.async_abort(
            reason="other_receiver",
            description_placeholders={
                "account": self.entry.title,
                "other_url": other_url,
            },
        )


def _host_of(url: str) -> str:
    """Return the host of a URL that another system entered, or a placeholder."""
    try:
        host = URL(url).host
    except ValueError:
        host = None
    return host or "an address that is not a valid URL"


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Return the fix flow of a push issue."""
    entry_id = str((data or {}).get("entry_id"))
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        return ConfirmRepairFlow()
    return RegisterPushUrlFlow(entry, str((data or {}).get("kind")))
