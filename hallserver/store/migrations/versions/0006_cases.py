"""Cases (办件) for 限时办结.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("token", sa.String(32), nullable=False, unique=True),
        sa.Column("matter", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Integer),
        sa.Column("window", sa.String(64), nullable=False),
        sa.Column("accepted_at", UtcDateTime, nullable=False),
        sa.Column("accepted_by", sa.String(64), nullable=False),
        sa.Column("step", sa.String(8), nullable=False),
        sa.Column("received", sa.Text, nullable=False),
        sa.Column("missing", sa.Text, nullable=False),
        sa.Column("steps", sa.Text, nullable=False),
        sa.Column("pauses", sa.Text, nullable=False),
        sa.Column("extensions", sa.Text, nullable=False),
        sa.Column("finished", sa.Boolean, nullable=False),
    )
    op.create_index("ix_cases_open", "cases", ["finished"])


def downgrade() -> None:
    op.drop_table("cases")
