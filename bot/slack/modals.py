"""Modals: posting a want or an offer, joining (choosing one's council), and outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.kernel.vocabulary import KNOWLEDGE_AREAS, PURPOSES
from bot.slack import ids
from bot.slack.kit import (
    Block,
    option,
    plain_text,
    section,
    static_select,
)
from bot.slack.views import PostView


def post_modal(kind: str, *, text: str = "", private_metadata: str = "") -> dict[str, Any]:
    """The modal for a want or offer with its text, area, purpose and an optional link."""
    what = "What does your council need?" if kind == "want" else "What can your council share?"
    hint = (
        "For example: a template information asset register for a small district"
        if kind == "want"
        else "For example: our lessons-learnt toolkit and how we ran it"
    )
    text_input: Block = {
        "type": "plain_text_input",
        "action_id": ids.ACT_TEXT,
        "multiline": True,
        "max_length": 1000,
        "placeholder": plain_text(hint),
    }
    if text:
        text_input["initial_value"] = text[:1000]
    return {
        "type": "modal",
        "callback_id": ids.VIEW_POST,
        "private_metadata": private_metadata or kind,
        "title": plain_text("Post a want" if kind == "want" else "Post an offer", 24),
        "submit": plain_text("Post", 24),
        "close": plain_text("Cancel", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": ids.BLK_TEXT,
                "label": plain_text(what),
                "element": text_input,
            },
            {
                "type": "input",
                "block_id": ids.BLK_AREA,
                "optional": True,
                "label": plain_text("Knowledge area"),
                "element": static_select(ids.ACT_AREA, "Choose an area", KNOWLEDGE_AREAS),
            },
            {
                "type": "input",
                "block_id": ids.BLK_PURPOSE,
                "optional": True,
                "label": plain_text("Purpose"),
                "element": static_select(ids.ACT_PURPOSE, "Choose a purpose", PURPOSES),
            },
            {
                "type": "input",
                "block_id": ids.BLK_LINK,
                "optional": True,
                "label": plain_text("Link (optional)"),
                "element": {"type": "url_text_input", "action_id": ids.ACT_LINK},
            },
        ],
    }


def join_modal(
    *, suggestions: Sequence[tuple[str, str]] = (), private_metadata: str = ""
) -> dict[str, Any]:
    """The modal asking which council a member works for, with a type-ahead picker."""
    picker: Block = {
        "type": "external_select",
        "action_id": ids.ACT_COUNCIL,
        "placeholder": plain_text("Start typing your council's name"),
        "min_query_length": 2,
    }
    if suggestions:
        value, label = suggestions[0]
        picker["initial_option"] = option(label, value)
    return {
        "type": "modal",
        "callback_id": ids.VIEW_JOIN,
        "private_metadata": private_metadata,
        "title": plain_text("Join the marketplace", 24),
        "submit": plain_text("Join", 24),
        "close": plain_text("Cancel", 24),
        "blocks": [
            section(
                "Which council do you work for? Your posts are shown with its name, and you are "
                "never matched with your own council."
            ),
            {
                "type": "input",
                "block_id": ids.BLK_COUNCIL,
                "optional": True,
                "label": plain_text("Council"),
                "element": picker,
            },
            {
                "type": "input",
                "block_id": ids.BLK_COUNCIL_NEW,
                "optional": True,
                "label": plain_text("Not in the list? Type its name"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.ACT_COUNCIL_NEW,
                    "max_length": 200,
                },
            },
            {
                "type": "input",
                "block_id": ids.BLK_ROLE,
                "optional": True,
                "label": plain_text("Your role in the network"),
                "element": static_select(
                    ids.ACT_ROLE,
                    "Choose a role",
                    {
                        "change_agent": "Change Agent",
                        "sponsor": "Sponsor",
                        "practitioner": "Practitioner",
                    },
                    "practitioner",
                ),
            },
        ],
    }


def outcome_modal(post: PostView) -> dict[str, Any]:
    """The modal asking what a fulfilled want saved."""
    return {
        "type": "modal",
        "callback_id": ids.VIEW_OUTCOME,
        "private_metadata": str(post.id),
        "title": plain_text("Want fulfilled", 24),
        "submit": plain_text("Save", 24),
        "close": plain_text("Skip", 24),
        "blocks": [
            section(
                f"Great news about *{post.label}*. The network reports what matches save, so it "
                f"helps to know roughly what this saved your council."
            ),
            {
                "type": "input",
                "block_id": ids.BLK_DAYS,
                "optional": True,
                "label": plain_text("Time saved, in working days"),
                "element": {
                    "type": "number_input",
                    "action_id": ids.ACT_DAYS,
                    "is_decimal_allowed": True,
                    "min_value": "0",
                    "max_value": "5000",
                },
            },
            {
                "type": "input",
                "block_id": ids.BLK_NOTE,
                "optional": True,
                "label": plain_text("A note (what it saved, what you did)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.ACT_NOTE,
                    "multiline": True,
                    "max_length": 1000,
                },
            },
        ],
    }
