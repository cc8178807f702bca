"""follow-ups on introductions, the welcome DM and members away

Members: ``away_until`` (introductions, reminders and follow-ups wait until then) and
``last_follow_up_at`` (at most one follow-up DM a day). Introductions: ``held_at`` (made while a
party was away, its message owed on their return) and the follow-up state. The welcome DM needs
no column: its outbox row, keyed by the person's Slack id, remembers that it was sent.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_MEMBER_COLUMNS = ("away_until", "last_follow_up_at")
_INTRODUCTION_TIMES = (
    "held_at",
    "followed_up_at",
    "follow_up_due_at",
    "still_talking_at",
    "no_response_at",
)


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        for name in _MEMBER_COLUMNS:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("introductions") as batch:
        for name in _INTRODUCTION_TIMES:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("follow_ups", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("introductions") as batch:
        batch.drop_column("follow_ups")
        for name in reversed(_INTRODUCTION_TIMES):
            batch.drop_column(name)
    with op.batch_alter_table("members") as batch:
        for name in reversed(_MEMBER_COLUMNS):
            batch.drop_column(name)
