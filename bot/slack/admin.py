"""Block Kit builders and help texts for /km-admin: plain functions returning dicts and strings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.kernel.text import escape, truncate
from bot.kernel.vocabulary import KNOWLEDGE_AREAS
from bot.slack.kit import FALLBACK_LIMIT, SECTION_LIMIT, time_text
from bot.slack.views import AuditView, CommunityView, MemberView, PromptView

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
AREAS = ", ".join(KNOWLEDGE_AREAS)

HELP: dict[str, str] = {
    "facilitators": (
        "*Facilitators*\n"
        "• `/km-admin facilitators list`: who the facilitators are\n"
        "• `/km-admin facilitators add @someone`: make someone a facilitator\n"
        "• `/km-admin facilitators remove @someone`: make a facilitator an ordinary member again"
    ),
    "councils": (
        "*Councils*\n"
        "• `/km-admin councils add <name> [in <region>]`: add a council the reference list "
        "doesn't know, e.g. `councils add Newtown Town Council in South West`\n"
        "• `/km-admin councils rename <council> to <new name>`: rename a council (give its "
        "number or name)\n"
        "• `/km-admin councils merge <duplicate> into <council>`: two records of one council "
        "become one; members and posts move across"
    ),
    "moderation": (
        "*Moderation*\n"
        "• `/km-admin remove <post number> <reason>`: take a post off the marketplace; its "
        "author is told the reason, e.g. `remove 12 contains a phone number`\n"
        "• `/km-admin restore <post number>`: put a removed post back"
    ),
    "introduce": (
        "*Introductions*\n"
        "• `/km-admin introduce <want number> <offer number>`: introduce a want and an offer "
        "yourself, in the want's thread, e.g. `introduce 12 7`"
    ),
    "communities": (
        "*Communities of practice*\n"
        "• `/km-admin communities list`: every community and its weekly slot\n"
        f"• `/km-admin communities add #channel <area> <day> <time> [nation]`: area is one of "
        f"{AREAS}, e.g. `communities add #km-im-cop IM Tuesday 10:00`\n"
        "• `/km-admin communities pause #channel`, `resume #channel`, `remove #channel`\n"
        "• `/km-admin communities nudge #channel`: send its next nudge now\n"
        "• Prompts: see `/km-admin prompts help`"
    ),
    "prompts": (
        "*Nudge prompts*\n"
        f"• `/km-admin prompts list [area]`: the prompts in the bank ({AREAS})\n"
        "• `/km-admin prompts add [area] <text>`: add a prompt, for one area or (with no area) "
        "for every community\n"
        "• `/km-admin prompts remove <number>`: take a prompt out of the rotation"
    ),
    "stats": (
        "*Statistics*\n"
        "• `/km-admin stats`: councils and members by region against the target, posts by "
        "knowledge area, introductions, days saved and the most wanted areas with no offers"
    ),
    "export": (
        "*Export*\n"
        "• `/km-admin export`: sends you posts, introductions, outcomes, councils, live sessions "
        "and the outputs by quarter as CSV files in a direct message"
    ),
    "report": (
        "*Report*\n"
        "• `/km-admin report`: sends you a chart (PNG) of weekly posts and introductions over the "
        "last quarter and councils by region, ready for a slide"
    ),
    "audit": (
        "*Audit log*\n"
        "• `/km-admin audit [how many]`: the latest admin actions, newest first\n"
        "• `/km-admin audit [how many] @someone` or `audit [how many] <action>`: only one "
        "person's, or one kind (e.g. `audit 50 post.remove`)\n"
        "• `/km-admin reports [how many]`: the cards members reported to you (⋯ > *Report to "
        "facilitators*), newest first, with their notes"
    ),
    "why": (
        "*Why (not) introduced*\n"
        "• `/km-admin why WANT OFFER`: the score of a want and an offer (by their numbers), the "
        "terms they share, and whether kmbot introduces them, and if not, why not (e.g. "
        "`/km-admin why 12 34`)"
    ),
    # Live marketplace sessions and the marketplace's outputs
    "session": (
        "*Live marketplace session*\n"
        "• `/km-admin session start [minutes] [#channel]`: a timed wants & offers session "
        "(15 minutes and the marketplace channel unless you say; 1 to 240 minutes), with a "
        "board in the channel that updates as posts arrive\n"
        "• `/km-admin session`: how the session is going\n"
        "• `/km-admin session end`: close it now (otherwise it closes on time): the outputs go "
        "in the channel and each participant gets their matches in a direct message"
    ),
    "outputs": (
        "*Outputs*\n"
        "• `/km-admin outputs [quarter]`: the top 5 areas of demand and of supply (Local "
        "Government Services List), the gaps by region, introductions that led somewhere, days "
        "saved and the outcome notes members agreed to share; e.g. `outputs Q3 2026`\n"
        "• `/km-admin outputs [quarter] chart`: also sends you the chart and a CSV"
    ),
}


def overview_help() -> str:
    """The list of everything /km-admin does."""
    return "\n".join(
        [
            "*`/km-admin`: tools for the network's facilitators*",
            "• `facilitators` list, add, remove",
            "• `councils` add, rename, merge",
            "• `remove` / `restore` a post (moderation)",
            "• `introduce` a want and an offer; `why` they were (not) introduced",
            "• `communities` list, add, pause, resume, remove, nudge; `prompts` list, add, remove",
            "• `stats`, `export` (CSV), `report` (chart), `audit`; `reports` (cards reported)",
            "• `session` start, end (a live marketplace session); `outputs` [quarter]",
            "Add `help` after any of them for details, e.g. `/km-admin councils help`.",
        ]
    )


def long_notice(text: str) -> dict[str, Any]:
    """A message of several sections, split at line breaks, for text longer than one section."""
    sections: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > SECTION_LIMIT and current:
            sections.append(current)
            current = line
        else:
            current = candidate
    if current:
        sections.append(current)
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(s, SECTION_LIMIT)}}
        for s in sections[:45]
    ]
    return {"text": truncate(text, FALLBACK_LIMIT), "blocks": blocks}


def refusal(facilitators: Sequence[str]) -> str:
    """The polite answer to someone who is not a facilitator."""
    ask = ""
    if facilitators:
        ask = (
            " If you need something changed, please ask "
            + ", ".join(f"<@{u}>" for u in facilitators[:3])
            + "."
        )
    return (
        "Sorry, `/km-admin` is only for the network's facilitators."
        + ask
        + " Everyone can use `/km help` to see what the marketplace offers."
    )


def member_line(member: MemberView) -> str:
    """A facilitator as a line of a list: mention, name and council where known."""
    bits = [f"<@{member.slack_user_id}>" if member.slack_user_id else escape(member.name or "?")]
    if member.council is not None:
        bits.append(escape(member.council))
    return "• " + " · ".join(bits)


def facilitators_list(members: Sequence[MemberView]) -> str:
    """Who the facilitators are."""
    if not members:
        return "There are no facilitators yet."
    return f"*Facilitators ({len(members)})*\n" + "\n".join(member_line(m) for m in members)


def community_line(c: CommunityView) -> str:
    """One community of practice, its area and weekly slot."""
    state = " · *paused*" if c.paused else ""
    return (
        f"• <#{c.channel_id}> ({escape(c.name)}) · {KNOWLEDGE_AREAS.get(c.area, c.area)} · "
        f"{WEEKDAYS[c.weekday]}s at {c.time_of_day} ({escape(c.timezone)}, "
        f"{escape(c.nation)} bank holidays skipped){state}"
    )


def communities_list(communities: Sequence[CommunityView]) -> str:
    """Every community of practice."""
    if not communities:
        return (
            "No communities of practice yet. Add one with "
            "`/km-admin communities add #channel IM Tuesday 10:00`."
        )
    return f"*Communities of practice ({len(communities)})*\n" + "\n".join(
        community_line(c) for c in communities
    )


def prompts_list(prompts: Sequence[PromptView], area: str | None = None) -> str:
    """The prompt bank, numbered so a prompt can be removed."""
    where = f" for {KNOWLEDGE_AREAS.get(area, area)}" if area else ""
    if not prompts:
        return f"There are no prompts{where} in the bank. Add one with `/km-admin prompts add`."
    lines = [f"*Nudge prompts{where} ({len(prompts)})*"]
    for p in prompts:
        tag = p.area or "any area"
        lines.append(f"• #{p.id} [{tag}] {escape(truncate(p.text, 200))}")
    return "\n".join(lines)


def audit_line(entry: AuditView) -> str:
    """One audit entry: when, who, what, and what changed."""
    who = f"<@{entry.actor}>" if entry.actor[:1] in ("U", "W") else f"`{escape(entry.actor)}`"
    line = f"• {time_text(entry.at)} · {who} · `{escape(entry.action)}`"
    if entry.target:
        line += f" {escape(entry.target)}"
    if entry.change:
        line += f"\n      {escape(truncate(entry.change, 400))}"
    return line


def audit_list(entries: Sequence[AuditView]) -> str:
    """The latest audit entries, newest first."""
    if not entries:
        return "The audit log has no entries like that yet."
    return f"*Audit log: the latest {len(entries)}*\n" + "\n".join(audit_line(e) for e in entries)
