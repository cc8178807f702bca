"""reliability: remember signed Slack requests so a replay is refused

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_requests",
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("request_ts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_seen_requests")),
    )
    op.create_index(
        op.f("ix_seen_requests_request_ts"), "seen_requests", ["request_ts"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_seen_requests_request_ts"), table_name="seen_requests")
    op.drop_table("seen_requests")
