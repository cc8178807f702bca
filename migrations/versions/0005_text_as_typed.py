"""Text typed in slash commands stored as typed.

Slack escapes ``&``, ``<`` and ``>`` in a slash command's text. Until this revision kmbot stored
that text escaped, so a post typed as "R&D <draft>" was kept (and later shown) as
"R&amp;D &lt;draft&gt;". The app now unescapes once on the way in; this revision does the same to
what was stored from Slack commands before. Form values and imported workshop files were never
escaped and are left alone.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _unescaped(column: str) -> str:
    return f"REPLACE(REPLACE(REPLACE({column}, '&lt;', '<'), '&gt;', '>'), '&amp;', '&')"


def _escaped(column: str) -> str:
    return f"({column} LIKE '%&amp;%' OR {column} LIKE '%&lt;%' OR {column} LIKE '%&gt;%')"


def upgrade() -> None:
    # Posts from /want and /offer (not imported ones), posts waiting for their author to join,
    # and what facilitators typed in /km-admin (removal reasons, community names, prompts).
    for table, column, where in (
        ("posts", "text", "source = 'slack'"),
        ("posts", "removed_reason", "removed_reason IS NOT NULL"),
        ("pending_posts", "text", "1 = 1"),
        ("communities", "name", "1 = 1"),
        ("nudge_prompts", "text", "1 = 1"),
    ):
        op.execute(
            f"UPDATE {table} SET {column} = {_unescaped(column)} "
            f"WHERE {where} AND {_escaped(column)}"
        )
    # Council names are unique: a name is only changed if its unescaped form is not taken.
    op.execute(
        f"UPDATE councils SET name = {_unescaped('name')}, "
        f"short_name = {_unescaped('short_name')} "
        f"WHERE {_escaped('name')} AND NOT EXISTS "
        f"(SELECT 1 FROM councils AS other WHERE other.name = {_unescaped('councils.name')})"
    )


def downgrade() -> None:
    # Which texts were escaped cannot be told afterwards; unescaped text is what members typed.
    pass
