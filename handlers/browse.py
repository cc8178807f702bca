"""Browsing the marketplace in App Home: filter menus, paging, and "I can help" on a row.

The filter is read from the Home view's private_metadata (or a paging button's value) and
written back into the view it publishes: nothing is kept in memory between clicks.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.container import Container
from bot.kernel.errors import KmbotError
from bot.kernel.text import escape
from bot.slack import ids
from bot.slack.browse import BrowseFilter
from bot.slack.introductions import help_done
from handlers.common import (
    OUT_OF_DATE,
    actor,
    button_value,
    help_with,
    post_id_from,
    refresh_home,
)

FILTER_ACTIONS = (
    ids.ACT_BROWSE_KIND,
    ids.ACT_BROWSE_AREA,
    ids.ACT_BROWSE_PURPOSE,
    ids.ACT_BROWSE_REGION,
    ids.ACT_BROWSE_WHEN,
)


def _current(body: dict[str, Any]) -> BrowseFilter:
    """The filter the Home view was published with."""
    return BrowseFilter.decode((body.get("view") or {}).get("private_metadata"))


class Browse:
    """Listeners for App Home's browsing controls."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def filter_changed(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """One of the filter menus changed: back to the first page of what matches."""
        ack()
        action = (body.get("actions") or [{}])[0]
        chosen = str((action.get("selected_option") or {}).get("value") or "")
        team_id, user_id = actor(body)
        found = _current(body).choose(str(action.get("action_id") or ""), chosen)
        refresh_home(self.container, client, user_id, team_id, found)

    def page(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """ "Previous" / "Next": the page (and the filter) in the value."""
        ack()
        team_id, user_id = actor(body)
        found = BrowseFilter.decode(button_value(body))
        refresh_home(self.container, client, user_id, team_id, found)

    def can_help(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """ "I can help" / "I'm interested" on a row: the card's introduction, from App Home;
        the answer is shown at the top of the Home, on the page the member was looking at."""
        ack()
        team_id, user_id = actor(body)
        post_id = post_id_from(button_value(body))
        note: str | None = OUT_OF_DATE
        if post_id is not None:
            try:
                done = help_with(self.container, client, body, post_id)
            except KmbotError as exc:
                note = escape(str(exc))
            else:
                if done is None:
                    return  # the post form is open
                made, held = done
                note = help_done(
                    f"*{made.want.label}*",
                    f"*{made.offer.label}*",
                    held=held,
                    where="the want's thread in the marketplace",
                )
        refresh_home(self.container, client, user_id, team_id, _current(body), note)


def register(app: App, container: Container) -> None:
    """Wire App Home's browsing controls into the app."""
    it = Browse(container)
    for action_id in FILTER_ACTIONS:
        app.action(action_id)(it.filter_changed)
    app.action(ids.ACT_BROWSE_PAGE)(it.page)
    app.action(ids.ACT_BROWSE_HELP)(it.can_help)
