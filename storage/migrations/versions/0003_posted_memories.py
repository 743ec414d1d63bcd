"""posted memories: which kept messages were posted as "on this day" memories, and when, so the
same memory is not posted again within a community's repeat period.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "posted_memory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"]),
        # Erasing a message (forget) removes the record that it was posted.
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("posted_memory", schema=None) as batch_op:
        batch_op.create_index(
            "ix_posted_memory_community_message", ["community_id", "message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("posted_memory", schema=None) as batch_op:
        batch_op.drop_index("ix_posted_memory_community_message")
    op.drop_table("posted_memory")
