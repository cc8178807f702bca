"""Browsing the marketplace in App Home: filters, a page of open posts, and paging.

The filter travels with the Home view (its ``private_metadata``) and the paging buttons' values,
never in a process's memory: any web process can answer the next click.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from bot.kernel.text import escape, truncate
from bot.kernel.vocabulary import KNOWLEDGE_AREAS, PURPOSES
from bot.slack import ids
from bot.slack.kit import Block, button, context, option, plain_text, section
from bot.slack.views import PostView

PAGE_SIZE = 10
ANY = "any"
KINDS = {"want": "Wants", "offer": "Offers"}
WHEN = {"week": "New this week"}


@dataclass(frozen=True)
class BrowseFilter:
    """What a member is looking for among the open posts; ``page`` counts from 0."""

    kind: str | None = None  # "want" | "offer" | None for both
    area: str | None = None
    purpose: str | None = None
    region: str | None = None
    new_this_week: bool = False
    page: int = 0

    def encode(self) -> str:
        """The filter as a short string for a view's private_metadata or a button's value."""
        fields = {
            "kind": self.kind,
            "area": self.area,
            "purpose": self.purpose,
            "region": self.region,
            "new": "1" if self.new_this_week else None,
            "page": str(self.page) if self.page else None,
        }
        return urlencode({k: v for k, v in fields.items() if v})

    @classmethod
    def decode(cls, raw: str | None) -> BrowseFilter:
        """A filter from ``encode``'s string; anything unknown or malformed is ignored."""
        values = dict(parse_qsl(raw or "", keep_blank_values=False))
        page = values.get("page", "0")
        return cls(
            kind=values.get("kind") if values.get("kind") in KINDS else None,
            area=values.get("area") if values.get("area") in KNOWLEDGE_AREAS else None,
            purpose=values.get("purpose") if values.get("purpose") in PURPOSES else None,
            region=(values.get("region") or "")[:60] or None,
            new_this_week=values.get("new") == "1",
            page=int(page) if page.isascii() and page.isdigit() and len(page) < 6 else 0,
        )

    def choose(self, action_id: str, value: str) -> BrowseFilter:
        """The filter after one of its menus was changed (back to the first page)."""
        chosen = None if value == ANY else value
        changes: dict[str, Any] = {"page": 0}
        if action_id == ids.ACT_BROWSE_KIND:
            changes["kind"] = chosen if chosen in KINDS else None
        elif action_id == ids.ACT_BROWSE_AREA:
            changes["area"] = chosen if chosen in KNOWLEDGE_AREAS else None
        elif action_id == ids.ACT_BROWSE_PURPOSE:
            changes["purpose"] = chosen if chosen in PURPOSES else None
        elif action_id == ids.ACT_BROWSE_REGION:
            changes["region"] = (chosen or "")[:60] or None
        elif action_id == ids.ACT_BROWSE_WHEN:
            changes["new_this_week"] = chosen == "week"
        return replace(self, **changes)


@dataclass(frozen=True)
class BrowseRow:
    """One open post in the list: ``own`` when it is from the member's own council."""

    post: PostView
    region: str | None
    own: bool
    new: bool


@dataclass(frozen=True)
class BrowsePage:
    """A page of open posts for a filter, how many match in all, and the regions to choose."""

    filter: BrowseFilter
    rows: tuple[BrowseRow, ...]
    total: int
    regions: tuple[str, ...]
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        """How many pages the matching posts fill (at least one)."""
        return max(1, -(-self.total // self.page_size))


def count_text(found: BrowsePage) -> str:
    """ "23 open offers match", "1 open want matches", "No open posts match"."""
    noun = found.filter.kind or "post"
    if found.total == 0:
        return f"No open {noun}s match"
    if found.total == 1:
        return f"1 open {noun} matches"
    return f"{found.total:,} open {noun}s match"


def _menu(action_id: str, placeholder: str, choices: dict[str, str], current: str | None) -> Block:
    options = [option(label, value) for value, label in choices.items()]
    chosen = current if current in choices else ANY
    return {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain_text(placeholder),
        "options": options[:100],
        "initial_option": option(choices[chosen], chosen),
    }


def browse_blocks(found: BrowsePage) -> list[Block]:
    """The "Browse the marketplace" part of App Home."""
    f = found.filter
    blocks: list[Block] = [
        {"type": "header", "text": plain_text("Browse open wants and offers")},
        {
            "type": "actions",
            "block_id": "browse_filters",
            "elements": [
                _menu(ids.ACT_BROWSE_KIND, "Kind", {ANY: "Wants and offers", **KINDS}, f.kind),
                _menu(
                    ids.ACT_BROWSE_AREA, "KM area", {ANY: "Any KM area", **KNOWLEDGE_AREAS}, f.area
                ),
                _menu(
                    ids.ACT_BROWSE_PURPOSE, "Purpose", {ANY: "Any purpose", **PURPOSES}, f.purpose
                ),
                _menu(
                    ids.ACT_BROWSE_REGION,
                    "Region",
                    {ANY: "Any region", **{r: r for r in found.regions[:99]}},
                    f.region,
                ),
                _menu(
                    ids.ACT_BROWSE_WHEN,
                    "When",
                    {ANY: "Any time", **WHEN},
                    "week" if f.new_this_week else None,
                ),
            ],
        },
        section(f"*{count_text(found)}*"),
    ]
    for row in found.rows:
        post = row.post
        where = escape(post.council) + (f" ({escape(row.region)})" if row.region else "")
        facts = [KNOWLEDGE_AREAS.get(post.area or "", ""), PURPOSES.get(post.purpose or "", "")]
        tags = " · ".join(t for t in facts if t)
        line = (
            f"*{post.label}* · {where}{' · _new_' if row.new else ''}\n"
            f"{escape(truncate(post.text, 280))}" + (f"\n_{tags}_" if tags else "")
        )
        block = section(line)
        if not row.own:
            label = "I can help" if post.kind == "want" else "I'm interested"
            block["accessory"] = button(label, ids.ACT_BROWSE_HELP, str(post.id))
        blocks.append(block)
        if row.own:
            blocks.append(context("From your council"))
    if found.pages > 1:
        paging: list[Block] = []
        if f.page > 0:
            paging.append(
                button("Previous", ids.ACT_BROWSE_PAGE, replace(f, page=f.page - 1).encode())
            )
        if f.page + 1 < found.pages:
            paging.append(button("Next", ids.ACT_BROWSE_PAGE, replace(f, page=f.page + 1).encode()))
        blocks.append(context(f"Page {f.page + 1} of {found.pages}"))
        if paging:
            blocks.append({"type": "actions", "block_id": "browse_paging", "elements": paging})
    return blocks
