"""What every listener needs: who is acting, what was clicked, and replying without losing anything.

Shared by every handler module (the only module they share).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Container
from bot.kernel.errors import InvalidInput, KmbotError, NeedsCouncil
from bot.kernel.text import escape
from bot.kernel.vocabulary import PostKind
from bot.slack import ids, modals
from bot.slack.browse import BrowseFilter
from bot.slack.home import home
from bot.slack.kit import notice
from bot.slack.views import IntroductionView

logger = logging.getLogger(__name__)

HELP_WORDS = {"help", "?", "-h", "--help"}
# Which block of the post (or edit) form shows a problem with each field.
FIELD_BLOCKS = {
    "text": ids.BLK_TEXT,
    "link": ids.BLK_LINK,
    "area": ids.BLK_AREA,
    "purpose": ids.BLK_PURPOSE,
}


def actor(body: dict[str, Any]) -> tuple[str, str]:
    """(team id, user id) of whoever sent a command, clicked a button or submitted a view."""
    user = body.get("user")
    if isinstance(user, dict):
        user_id = user.get("id", "")
        team_id = user.get("team_id") or (body.get("team") or {}).get("id", "")
    else:
        user_id = body.get("user_id", "")
        team_id = body.get("team_id", "")
    return str(team_id or ""), str(user_id or "")


def button_value(body: dict[str, Any]) -> str:
    """The value of the button that was clicked."""
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value") or actions[0].get("selected_option", {}).get("value") or "")


def post_id_from(value: str) -> int | None:
    """A post or introduction number from a button value or typed text ("#12", "12")."""
    value = value.strip().lstrip("#")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


def input_value(view: dict[str, Any], block_id: str, action_id: str) -> str | None:
    """What was typed (or chosen) in one input of a submitted modal."""
    element = (view.get("state") or {}).get("values", {}).get(block_id, {}).get(action_id, {})
    selected = element.get("selected_option")
    if selected is not None:
        return str(selected.get("value")) if selected.get("value") is not None else None
    value = element.get("value")
    return str(value) if value is not None else None


@dataclass(frozen=True)
class PostForm:
    """A submitted post (or edit) form: the kind of post, what was filled in, and the post it
    answers ("I can help") or edits, as its private_metadata says."""

    kind: PostKind
    fields: dict[str, Any]
    purpose: str | None
    post_id: int | None

    @classmethod
    def of(cls, view: dict[str, Any]) -> PostForm:
        """Read a submitted post or edit form."""
        kind, purpose, post_id = modals.read_form_metadata(view.get("private_metadata"))
        # The form opened from a shortcut asks whether it is a want or an offer.
        chosen = input_value(view, ids.BLK_KIND, ids.ACT_KIND)
        fields = {
            "text": input_value(view, ids.BLK_TEXT, ids.ACT_TEXT) or "",
            "area": input_value(view, ids.BLK_AREA, ids.ACT_AREA),
            "purpose": input_value(view, ids.BLK_PURPOSE, ids.ACT_PURPOSE),
            "link": input_value(view, ids.BLK_LINK, ids.ACT_LINK),
        }
        return cls(
            PostKind(chosen if chosen in ("want", "offer") else kind), fields, purpose, post_id
        )

    def about(self, purpose: str) -> int | None:
        """The post this form answers (``modals.HELP``) or edits (``modals.EDIT``), if it does."""
        return self.post_id if self.purpose == purpose else None


def ticked(view: dict[str, Any], block_id: str, action_id: str) -> set[str]:
    """The values of the boxes ticked in one checkboxes input of a submitted modal."""
    element = (view.get("state") or {}).get("values", {}).get(block_id, {}).get(action_id, {})
    return {str(o.get("value")) for o in element.get("selected_options") or []}


def form_errors(exc: KmbotError) -> dict[str, str]:
    """A refusal shown in the post form, beside the field at fault (the text, if none is)."""
    field = exc.field if isinstance(exc, InvalidInput) else None
    return {FIELD_BLOCKS.get(field or "text", ids.BLK_TEXT): str(exc)}


def profile(client: WebClient, user_id: str) -> tuple[str | None, str | None]:
    """(real name, email) from the member's Slack profile, or Nones if Slack will not say."""
    try:
        resp = client.users_info(user=user_id)
    except SlackApiError as exc:
        logger.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
        return None, None
    user = resp.get("user") or {}
    prof = user.get("profile") or {}
    name = prof.get("real_name") or user.get("real_name") or user.get("name")
    return name, prof.get("email")


def refresh_home(
    container: Container,
    client: WebClient,
    user_id: str,
    team_id: str,
    found: BrowseFilter | None = None,
    note: str | None = None,
) -> None:
    """Publish a member's App Home (their posts and introductions, and a page of the marketplace:
    the first, unless ``found`` says which) when they open it, browse it, or after something of
    theirs changed; ``note`` is mrkdwn we wrote, shown at the top (best effort)."""
    try:
        overview, page = container.browsing.home(team_id, user_id, found or BrowseFilter())
        client.views_publish(user_id=user_id, view=home(overview, page, note))
    except SlackApiError as exc:
        logger.warning("Could not refresh App Home for %s: %s", user_id, exc.response.get("error"))
    except OSError as exc:  # timeouts and dropped connections: Home is refreshed next time
        logger.warning("Could not refresh App Home for %s: %s", user_id, exc)


# What a member is told when a button's value no longer makes sense (an old message).
OUT_OF_DATE = "That button is out of date."


def reply(container: Container, respond: Respond | None, user_id: str, text: str) -> None:
    """Tell a member something (escaped): where they acted when there is a response URL,
    otherwise by direct message (App Home, a modal)."""
    message = notice(escape(text))
    if respond is not None:
        respond(**message, response_type="ephemeral", replace_original=False)
        return
    container.posting.tell(user_id, message)
    kick(container)


def help_with(
    container: Container, client: WebClient, body: dict[str, Any], post_id: int
) -> tuple[IntroductionView, bool] | None:
    """ "I can help" / "I'm interested" on a post: (the introduction made, whether it is held
    while one of them is away); None when the member has nothing to introduce yet, and the post
    form for the post that would answer it was opened instead. A KmbotError says why not."""
    team_id, user_id = actor(body)
    introductions = container.introductions
    try:
        answer = introductions.offer_help(team_id, user_id, post_id)
    except NeedsCouncil:
        # Not joined yet: posting from the form asks for their council first.
        _open_help_form(client, body, post_id, introductions.kind_answering(post_id))
        return None
    if answer.introduced is None:
        # Nothing of theirs to introduce yet: ask for the offer (or want) itself.
        _open_help_form(client, body, post_id, answer.post_to_make)
        return None
    kick(container)
    return answer.introduced, answer.held


def _open_help_form(client: WebClient, body: dict[str, Any], post_id: int, kind: str) -> None:
    client.views_open(
        trigger_id=body["trigger_id"], view=modals.post_modal(kind, answering=post_id)
    )


def kick(container: Container) -> None:
    """Deliver what the last transaction owed Slack, now rather than at the next sweep."""
    container.deliverer.kick()


def process_soon(container: Container) -> None:
    """Wake whatever does the stored requests' work: the posting thread of this process, or the
    pool tests and the sandbox use; a separate posting process finds the work on its own."""
    if container.intake.running:
        container.intake.kick()
    elif container.work_pool is not None:
        container.work_pool.submit(container.intake.process_due)
