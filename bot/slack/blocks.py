"""Block Kit builders: plain functions from product facts to Slack message and view dicts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.kernel.settings import KNOWLEDGE_AREAS, PURPOSES
from bot.kernel.text import escape, truncate
from bot.slack import ids

Block = dict[str, Any]

# Slack's limits, kept with a little room.
SECTION_LIMIT = 2900
FIELD_LIMIT = 1900
BUTTON_LIMIT = 75
HEADER_LIMIT = 150
FALLBACK_LIMIT = 3000


@dataclass(frozen=True)
class PostView:
    """What a message needs to show a post."""

    id: int
    kind: str  # "want" | "offer"
    text: str
    council: str
    author_name: str | None = None
    author_slack_id: str | None = None
    author_email: str | None = None
    area: str | None = None
    purpose: str | None = None
    link: str | None = None
    status: str = "open"
    expires_at: datetime | None = None

    @property
    def label(self) -> str:
        """ "Want #12" or "Offer #7"."""
        return f"{self.kind.capitalize()} #{self.id}"

    @property
    def who(self) -> str:
        """A mention where we know the Slack user, otherwise the name, escaped."""
        if self.author_slack_id:
            return f"<@{self.author_slack_id}>"
        return escape(self.author_name or "a member")


@dataclass(frozen=True)
class IntroductionView:
    """What a message needs to show an introduction."""

    id: int
    want: PostView
    offer: PostView
    score: int
    reasons: tuple[str, ...]
    status: str = "proposed"
    manual: bool = False
    answered_by: str | None = None  # Slack user id


def date_text(when: datetime | None) -> str:
    """A British date such as "25 Feb 2027"."""
    return when.strftime("%-d %b %Y") if when else ""


def quote(text: str, limit: int = FIELD_LIMIT - 100) -> str:
    """User text escaped, shortened and shown as a Slack quote."""
    safe = truncate(escape(text), limit)
    return "\n".join("> " + line for line in safe.split("\n"))


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def _context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate(t, 2900)} for t in texts if t][:10],
    }


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    btn: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, BUTTON_LIMIT), "emoji": False},
        "action_id": action_id,
        "value": value,
    }
    if style:
        btn["style"] = style
    return btn


def _plain(text: str, limit: int = 150) -> Block:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": False}


def area_name(code: str | None) -> str:
    """The knowledge area's full name."""
    return KNOWLEDGE_AREAS.get(code or "", "")


def _facts(post: PostView) -> list[str]:
    facts = []
    if post.area:
        facts.append(area_name(post.area))
    if post.purpose:
        facts.append(PURPOSES.get(post.purpose, post.purpose))
    return facts


def card(post: PostView) -> dict[str, Any]:
    """The marketplace card announcing a new want or offer."""
    if post.status == "removed":
        # A facilitator removed it: the text is no longer shown to anyone.
        gone = f"*{post.label}* was removed by a facilitator."
        return {"text": gone, "blocks": [_section(gone)]}
    verb = "needs" if post.kind == "want" else "can share"
    head = f"*{post.label}* · *{escape(post.council)}* {verb}:"
    blocks: list[Block] = [_section(f"{head}\n{quote(post.text, SECTION_LIMIT - 400)}")]
    extra = _facts(post)
    if post.link:
        extra.append(f"<{escape(post.link)}|Link>")
    ctx = [f"Posted by {post.who}"] + extra
    if post.expires_at:
        ctx.append(f"Open until {date_text(post.expires_at)}")
    blocks.append(_context(" · ".join(ctx)))
    if post.status == "open":
        label, action = (
            ("I can help", ids.ACT_CAN_HELP)
            if post.kind == "want"
            else ("I'm interested", ids.ACT_INTERESTED)
        )
        blocks.append({"type": "actions", "elements": [_button(label, action, str(post.id))]})
    else:
        blocks.append(_context(f"This {post.kind} is {post.status}."))
    fallback = f"{post.label} from {post.council}: {truncate(post.text, 200)}"
    return {"text": truncate(escape(fallback), FALLBACK_LIMIT), "blocks": blocks}


def _contact(post: PostView) -> str:
    bits = [post.who, escape(post.council)]
    if post.author_email:
        bits.append(escape(post.author_email))
    return " · ".join(bits)


def introduction(intro: IntroductionView) -> dict[str, Any]:
    """The introduction of a want's owner to an offer's owner, posted in the want's thread."""
    w, o = intro.want, intro.offer
    lead = (
        f"{w.who} ({escape(w.council)}), meet {o.who} ({escape(o.council)}): "
        f"{'a facilitator or member thinks' if intro.manual else 'I think'} this offer could help "
        f"with this want."
    )
    blocks: list[Block] = [
        _section(lead),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{w.label} · {escape(w.council)}*\n{quote(w.text)}"},
                {"type": "mrkdwn", "text": f"*{o.label} · {escape(o.council)}*\n{quote(o.text)}"},
            ],
        },
    ]
    why = ", ".join(escape(r) for r in intro.reasons[:8])
    ctx = [f"Why: {why}" if why else "", f"Match score {intro.score}/100"]
    blocks.append(_context(*[c for c in ctx if c]))
    blocks.append(_context("Contacts: " + _contact(w), "and " + _contact(o)))
    if intro.status == "proposed":
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    _button(
                        "Useful — we're talking", ids.ACT_INTRO_USEFUL, str(intro.id), "primary"
                    ),
                    _button("Not a fit", ids.ACT_INTRO_NOT_FIT, str(intro.id)),
                ],
            }
        )
    else:
        by = f" by <@{intro.answered_by}>" if intro.answered_by else ""
        state = (
            "Marked useful — they're talking" if intro.status == "confirmed" else "Marked not a fit"
        )
        blocks.append(_context(f"{state}{by}."))
    fallback = f"Introduction: {w.label} ({w.council}) and {o.label} ({o.council})"
    return {"text": escape(fallback), "blocks": blocks}


def post_confirmation(
    post: PostView,
    channel: str,
    introduced: Sequence[IntroductionView],
    candidates: Sequence[tuple[PostView, int]],
) -> dict[str, Any]:
    """The ephemeral reply to the poster: the post's number and its best candidates."""
    lines = [f"Thanks — your {post.kind} is posted as *{post.label}* in <#{channel}>."]
    if not channel.startswith(("C", "G")):
        lines = [f"Thanks — your {post.kind} is posted as *{post.label}* in #{escape(channel)}."]
    blocks: list[Block] = [_section("\n".join(lines))]
    if introduced:
        names = ", ".join(
            f"{(i.offer if post.kind == 'want' else i.want).label} "
            f"({escape((i.offer if post.kind == 'want' else i.want).council)})"
            for i in introduced
        )
        blocks.append(_section(f"I've introduced you in the card's thread to: {names}."))
    if candidates:
        rows = [
            f"• *{c.label}* · {escape(c.council)} ({score}/100): {escape(truncate(c.text, 140))}"
            for c, score in candidates
        ]
        blocks.append(_section("Possible matches (shown only to you):\n" + "\n".join(rows)))
    if not introduced and not candidates:
        blocks.append(
            _context(
                "No match yet. I'll introduce you as soon as someone posts a match, and the "
                "communities of practice will see it in their weekly nudge."
            )
        )
    return {"text": f"Your {post.kind} is posted as {post.label}.", "blocks": blocks}


def cap_reached(kind: str, limit: int, open_posts: Sequence[PostView]) -> dict[str, Any]:
    """The reply when a member already has the most open posts of a kind."""
    blocks: list[Block] = [
        _section(
            f"You already have {limit} open {kind}s, the most anyone can have at once "
            f"(just like the "
            f"flip chart's top {limit}). Close one to make room:"
        )
    ]
    for post in open_posts[:10]:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{post.label}* {escape(truncate(post.text, 200))}",
                },
                "accessory": _button("Close", ids.ACT_CLOSE_POST, str(post.id)),
            }
        )
    return {"text": f"You already have {limit} open {kind}s.", "blocks": blocks}


def notice(text: str) -> dict[str, Any]:
    """A short message with a single section (the text is mrkdwn we wrote, already escaped)."""
    return {"text": truncate(text, FALLBACK_LIMIT), "blocks": [_section(text)]}


def _option(text: str, value: str) -> Block:
    return {"text": _plain(text, 75), "value": value}


def _static_select(
    action_id: str, placeholder: str, options: dict[str, str], initial: str | None = None
) -> Block:
    element: Block = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": _plain(placeholder),
        "options": [_option(label, value) for value, label in options.items()],
    }
    if initial in options:
        element["initial_option"] = _option(options[initial], initial)  # type: ignore[index]
    return element


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
        "placeholder": _plain(hint),
    }
    if text:
        text_input["initial_value"] = text[:1000]
    return {
        "type": "modal",
        "callback_id": ids.VIEW_POST,
        "private_metadata": private_metadata or kind,
        "title": _plain("Post a want" if kind == "want" else "Post an offer", 24),
        "submit": _plain("Post", 24),
        "close": _plain("Cancel", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": ids.BLK_TEXT,
                "label": _plain(what),
                "element": text_input,
            },
            {
                "type": "input",
                "block_id": ids.BLK_AREA,
                "optional": True,
                "label": _plain("Knowledge area"),
                "element": _static_select(ids.ACT_AREA, "Choose an area", KNOWLEDGE_AREAS),
            },
            {
                "type": "input",
                "block_id": ids.BLK_PURPOSE,
                "optional": True,
                "label": _plain("Purpose"),
                "element": _static_select(ids.ACT_PURPOSE, "Choose a purpose", PURPOSES),
            },
            {
                "type": "input",
                "block_id": ids.BLK_LINK,
                "optional": True,
                "label": _plain("Link (optional)"),
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
        "placeholder": _plain("Start typing your council's name"),
        "min_query_length": 2,
    }
    if suggestions:
        value, label = suggestions[0]
        picker["initial_option"] = _option(label, value)
    return {
        "type": "modal",
        "callback_id": ids.VIEW_JOIN,
        "private_metadata": private_metadata,
        "title": _plain("Join the marketplace", 24),
        "submit": _plain("Join", 24),
        "close": _plain("Cancel", 24),
        "blocks": [
            _section(
                "Which council do you work for? Your posts are shown with its name, and you are "
                "never matched with your own council."
            ),
            {
                "type": "input",
                "block_id": ids.BLK_COUNCIL,
                "optional": True,
                "label": _plain("Council"),
                "element": picker,
            },
            {
                "type": "input",
                "block_id": ids.BLK_COUNCIL_NEW,
                "optional": True,
                "label": _plain("Not in the list? Type its name"),
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
                "label": _plain("Your role in the network"),
                "element": _static_select(
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
        "title": _plain("Want fulfilled", 24),
        "submit": _plain("Save", 24),
        "close": _plain("Skip", 24),
        "blocks": [
            _section(
                f"Great news about *{post.label}*. The network reports what matches save, so it "
                f"helps to know roughly what this saved your council."
            ),
            {
                "type": "input",
                "block_id": ids.BLK_DAYS,
                "optional": True,
                "label": _plain("Time saved, in working days"),
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
                "label": _plain("A note (what it saved, what you did)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.ACT_NOTE,
                    "multiline": True,
                    "max_length": 1000,
                },
            },
        ],
    }


def home(
    name: str | None,
    council: str | None,
    posts: Sequence[PostView],
    introductions: Sequence[IntroductionView],
    member_post_ids: set[int],
) -> dict[str, Any]:
    """The App Home tab: a member's posts and introductions."""
    blocks: list[Block] = [
        {"type": "header", "text": _plain("Wants & Offers Marketplace", HEADER_LIMIT)},
    ]
    if council:
        blocks.append(_context(f"{escape(name or 'You')} · {escape(council)}"))
    else:
        blocks.append(
            _section(
                "You haven't joined yet. Post a want or an offer (`/want`, `/offer`) or type "
                "`/km join` and I'll ask which council you work for."
            )
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                _button("Post a want", ids.ACT_OPEN_POST_MODAL, "want", "primary"),
                _button("Post an offer", ids.ACT_OPEN_POST_MODAL, "offer"),
            ],
        }
    )
    blocks.append({"type": "divider"})
    open_posts = [p for p in posts if p.status == "open"]
    blocks.append({"type": "header", "text": _plain(f"Your open posts ({len(open_posts)})")})
    if not open_posts:
        blocks.append(_context("Nothing open. What does your council need, or what can it share?"))
    for post in open_posts[:20]:
        blocks.append(
            _section(
                f"*{post.label}* {escape(truncate(post.text, 300))}\n"
                f"_Open until {date_text(post.expires_at)}_"
            )
        )
        elements = [_button("Withdraw", ids.ACT_WITHDRAW, str(post.id))]
        if post.kind == "want":
            elements.insert(0, _button("Fulfilled", ids.ACT_FULFILLED, str(post.id), "primary"))
        blocks.append({"type": "actions", "elements": elements})
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": _plain(f"Your introductions ({len(introductions)})")})
    if not introductions:
        blocks.append(_context("No introductions yet."))
    for intro in introductions[:20]:
        other = intro.offer if intro.want.id in member_post_ids else intro.want
        state = {
            "proposed": "waiting for an answer",
            "confirmed": "useful — talking",
            "declined": "not a fit",
        }.get(intro.status, intro.status)
        blocks.append(
            _section(
                f"*{intro.want.label}* ↔ *{intro.offer.label}* "
                f"with {escape(other.council)}: {state}\n"
                f"{escape(truncate(other.text, 200))}"
            )
        )
        if intro.status == "proposed":
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        _button(
                            "Useful — we're talking", ids.ACT_INTRO_USEFUL, str(intro.id), "primary"
                        ),
                        _button("Not a fit", ids.ACT_INTRO_NOT_FIT, str(intro.id)),
                    ],
                }
            )
    # Slack allows 100 blocks in a Home view.
    return {"type": "home", "blocks": blocks[:100]}


def help_text(max_open: int) -> str:
    """Usage for /want, /offer and /km."""
    return (
        "*Wants & Offers Marketplace*\n"
        "• `/want <what your council needs>` posts a want; `/want` alone opens a form.\n"
        "• `/offer <what your council can share>` posts an offer; `/offer` alone opens a form.\n"
        "• `/km mine` shows your posts and introductions.\n"
        "• `/km search <words>` finds open posts.\n"
        "• `/km join [council]` sets or changes your council.\n"
        "• `/km close <number>` closes one of your posts.\n"
        "• `/km my-data` sends you everything kmbot stores about you; "
        "`/km forget-me` erases it.\n"
        f"You can have up to {max_open} open wants and {max_open} open offers. I match each new "
        "post against the other side and introduce you in the card's thread."
    )
