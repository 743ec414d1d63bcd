"""stewards: the people who look after a community's archive (a group's admins, the person who
invited the bot), with when and how each became one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "steward",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["space_id"], ["space.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "person_id", name="uq_steward_person"),
    )
    with op.batch_alter_table("steward", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_steward_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("steward", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steward_person_id"))
    op.drop_table("steward")
