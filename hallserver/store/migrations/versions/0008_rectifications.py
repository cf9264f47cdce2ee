"""差评整改: a rectification case per bad rating.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rectifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("rating_id", sa.Integer, sa.ForeignKey("ratings.id", name="fk_rectifications_rating"),
                  nullable=False, unique=True),
        sa.Column("window", sa.String(64), nullable=False),
        sa.Column("staff", sa.String(64), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("phone", sa.String(11), nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("records", sa.Text, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rectifications")
