"""投诉: one row per complaint (登记, 分派, 办理, 答复, 办结), its steps as a JSON list.

Revision ID: 0023
Revises: 0022
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("name", sa.String(20), nullable=False),
        sa.Column("phone", sa.String(11), nullable=False),
        sa.Column("registered_at", UtcDateTime, nullable=False),
        sa.Column("registered_by", sa.String(64), nullable=False),
        sa.Column("days", sa.SmallInteger, nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("steps", sa.Text, nullable=False),
    )
    op.create_index("ix_complaints_registered_at", "complaints", ["registered_at"])


def downgrade() -> None:
    op.drop_index("ix_complaints_registered_at", "complaints")
    op.drop_table("complaints")
