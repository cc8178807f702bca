"""members.email_key: the email as looked up (stripped, lower-case), indexed.

Finding a member by email used to compare ``lower(email)``, which no index serves: an import of
N people scanned the members table N times. The key is kept beside the email by the app (set and
erased with it); this revision adds it and fills it in for the members stored before.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("members", sa.Column("email_key", sa.String(length=254), nullable=True))
    # TRIM strips spaces only, as Python's str.strip() also strips tabs and newlines: the app
    # has stored emails from Slack profiles and checked CSV cells, which carry neither.
    op.execute(
        "UPDATE members SET email_key = NULLIF(LOWER(TRIM(email)), '') WHERE email IS NOT NULL"
    )
    op.create_index(op.f("ix_members_email_key"), "members", ["email_key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_members_email_key"), table_name="members")
    op.drop_column("members", "email_key")
