"""Modals: posting a want or an offer, joining (choosing one's council), and outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.kernel.text import escape
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

# A post form's private_metadata: "want", "offer", or the kind and what the form is for,
# "offer:help:12" ("I can help" on post 12 with nothing to offer yet) or "want:edit:12".
HELP, EDIT = "help", "edit"
# The post form opened from a shortcut asks which kind of post it is.
_KIND_CHOICES = {
    "want": "A want: my council needs this",
    "offer": "An offer: my council can share",
}


def form_metadata(kind: str, purpose: str | None = None, post_id: int | None = None) -> str:
    """A post form's private_metadata: its kind and, for ``HELP`` or ``EDIT``, the post."""
    return f"{kind}:{purpose}:{post_id}" if purpose else kind


def read_form_metadata(metadata: str | None) -> tuple[str, str | None, int | None]:
    """(kind, purpose, post id) from ``form_metadata``'s string; anything odd reads as a want
    with no purpose."""
    parts = (metadata or "").split(":")
    kind = "offer" if parts[0] == "offer" else "want"
    if len(parts) == 3 and parts[1] in (HELP, EDIT):
        number = parts[2]
        if number.isascii() and number.isdigit() and len(number) < 12:
            return kind, parts[1], int(number)
    return kind, None, None


def post_modal(
    kind: str | None,
    *,
    text: str = "",
    area: str | None = None,
    purpose: str | None = None,
    link: str | None = None,
    answering: int | None = None,
) -> dict[str, Any]:
    """The modal for a want or offer with its text, area, purpose and an optional link, filled
    in with what is given; ``kind`` None asks which it is (a shortcut), and ``answering`` names
    the post an "I can help" is for."""
    if kind is None:
        what = "What does your council need, or can it share?"
        title = "Post a want or offer"
    elif kind == "want":
        what, title = "What does your council need?", "Post a want"
    else:
        what, title = "What can your council share?", "Post an offer"
    hint = (
        "For example: our lessons-learnt toolkit and how we ran it"
        if kind == "offer"
        else "For example: a template information asset register for a small district"
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
    link_input: Block = {"type": "url_text_input", "action_id": ids.ACT_LINK}
    if link:
        link_input["initial_value"] = link
    blocks: list[Block] = []
    if kind is None:
        blocks.append(
            {
                "type": "input",
                "block_id": ids.BLK_KIND,
                "label": plain_text("Is this a want or an offer?"),
                "element": {
                    "type": "radio_buttons",
                    "action_id": ids.ACT_KIND,
                    "options": [option(label, value) for value, label in _KIND_CHOICES.items()],
                    "initial_option": option(_KIND_CHOICES["want"], "want"),
                },
            }
        )
    blocks += [
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
            "element": static_select(ids.ACT_AREA, "Choose an area", KNOWLEDGE_AREAS, area),
        },
        {
            "type": "input",
            "block_id": ids.BLK_PURPOSE,
            "optional": True,
            "label": plain_text("Purpose"),
            "element": static_select(ids.ACT_PURPOSE, "Choose a purpose", PURPOSES, purpose),
        },
        {
            "type": "input",
            "block_id": ids.BLK_LINK,
            "optional": True,
            "label": plain_text("Link (optional)"),
            "element": link_input,
        },
    ]
    return {
        "type": "modal",
        "callback_id": ids.VIEW_POST,
        "private_metadata": form_metadata(
            kind or "want", HELP if answering is not None else None, answering
        ),
        "title": plain_text(title, 24),
        "submit": plain_text("Post", 24),
        "close": plain_text("Cancel", 24),
        "blocks": blocks,
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


# The value of the outcome modal's consent box when ticked (its block and action ids are in ids).
SHARE_NOTE = "share"


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
            # Consent: only a note ticked here appears in the outputs that sponsors read.
            {
                "type": "input",
                "block_id": ids.BLK_SHARE_NOTE,
                "optional": True,
                "label": plain_text("Sharing"),
                "element": {
                    "type": "checkboxes",
                    "action_id": ids.ACT_SHARE_NOTE,
                    "options": [
                        {
                            "text": plain_text("Share this note in the network's outputs"),
                            # Unticked, only the facilitators read the note.
                            "description": plain_text(
                                "Sponsors may read it with your council's name."
                            ),
                            "value": SHARE_NOTE,
                        }
                    ],
                },
            },
        ],
    }


# ---- Shortcuts, editing a post, reporting a card ----


def edit_modal(post: PostView) -> dict[str, Any]:
    """The post modal filled in with one of the member's own posts, to change and save."""
    view = post_modal(
        post.kind, text=post.text, area=post.area, purpose=post.purpose, link=post.link
    )
    view["callback_id"] = ids.VIEW_EDIT
    view["private_metadata"] = form_metadata(post.kind, EDIT, post.id)
    view["title"] = plain_text(f"Edit {post.label}", 24)
    view["submit"] = plain_text("Save", 24)
    return view


def report_modal(post: PostView) -> dict[str, Any]:
    """The modal asking why a member reports a card to the facilitators."""
    return {
        "type": "modal",
        "callback_id": ids.VIEW_REPORT,
        "private_metadata": str(post.id),
        "title": plain_text("Report to facilitators", 24),
        "submit": plain_text("Send report", 24),
        "close": plain_text("Cancel", 24),
        "blocks": [
            section(
                f"The network's facilitators will look at *{post.label}* from "
                f"{escape(post.council)}. Only they see your report."
            ),
            {
                "type": "input",
                "block_id": ids.BLK_REPORT_NOTE,
                "label": plain_text("What's the problem?"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.ACT_REPORT_NOTE,
                    "multiline": True,
                    "max_length": 500,
                    "placeholder": plain_text(
                        "For example: it contains someone's personal details"
                    ),
                },
            },
        ],
    }
