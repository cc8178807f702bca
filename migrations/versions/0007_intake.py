"""durable intake: every signed request stored before the ack (replaces seen_requests)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=100), nullable=True),
        sa.Column("request_ts", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job", sa.String(length=40), nullable=True),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake")),
        sa.UniqueConstraint("request_key", name=op.f("uq_intake_request_key")),
    )
    op.create_index(op.f("ix_intake_request_ts"), "intake", ["request_ts"], unique=False)
    op.create_index("ix_intake_status_id", "intake", ["status", "id"], unique=False)
    # Signatures remembered only to refuse replays: none older than ten minutes matters.
    op.drop_index(op.f("ix_seen_requests_request_ts"), table_name="seen_requests")
    op.drop_table("seen_requests")


def downgrade() -> None:
    op.create_table(
        "seen_requests",
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("request_ts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_seen_requests")),
    )
    op.create_index(
        op.f("ix_seen_requests_request_ts"), "seen_requests", ["request_ts"], unique=False
    )
    op.drop_index("ix_intake_status_id", table_name="intake")
    op.drop_index(op.f("ix_intake_request_ts"), table_name="intake")
    op.drop_table("intake")
