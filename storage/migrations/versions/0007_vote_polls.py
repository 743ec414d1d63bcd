"""vote polls: a vote's poll in every chat of its community (a community spanning a Telegram
group and a Matrix room votes in both), instead of one poll id on the vote.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
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
        "vote_poll",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.String(length=255), nullable=True),
        sa.Column("poll_message_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["space_id"], ["space.id"]),
        sa.ForeignKeyConstraint(["vote_id"], ["vote.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("vote_id", "space_id", name="uq_vote_poll_space"),
    )
    op.create_index("ix_vote_poll_vote_id", "vote_poll", ["vote_id"])
    op.create_index("ix_vote_poll_poll_id", "vote_poll", ["poll_id"])
    # The one poll each vote had so far: in the chat it was proposed in.
    op.execute(
        "INSERT INTO vote_poll (vote_id, space_id, poll_id, poll_message_id) "
        "SELECT id, space_id, poll_id, poll_message_id FROM vote "
        "WHERE poll_id IS NOT NULL"
    )
    # ALTER TABLE … DROP COLUMN, not a batch copy: the ballots, the ledger and the polls refer
    # to the vote table, and SQLite (3.35 and newer) drops a plain column in place.
    op.drop_index("ix_vote_poll_id", table_name="vote")
    op.drop_column("vote", "poll_message_id")
    op.drop_column("vote", "poll_id")


def downgrade() -> None:
    op.add_column("vote", sa.Column("poll_id", sa.String(length=255), nullable=True))
    op.add_column("vote", sa.Column("poll_message_id", sa.String(length=255), nullable=True))
    op.create_index("ix_vote_poll_id", "vote", ["poll_id"])
    # Back to one poll per vote: the one in the chat it was proposed in.
    op.execute(
        "UPDATE vote SET poll_id = (SELECT p.poll_id FROM vote_poll p "
        "WHERE p.vote_id = vote.id AND p.space_id = vote.space_id), "
        "poll_message_id = (SELECT p.poll_message_id FROM vote_poll p "
        "WHERE p.vote_id = vote.id AND p.space_id = vote.space_id)"
    )
    op.drop_index("ix_vote_poll_poll_id", table_name="vote_poll")
    op.drop_index("ix_vote_poll_vote_id", table_name="vote_poll")
    op.drop_table("vote_poll")
