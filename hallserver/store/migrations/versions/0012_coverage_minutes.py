"""AB岗 coverage minutes per day and post, kept across restarts.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coverage_minutes",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("post", sa.String(64), nullable=False),
        sa.Column("a_min", sa.Integer, nullable=False),
        sa.Column("b_min", sa.Integer, nullable=False),
        sa.Column("none_min", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("day", "post", name="pk_coverage_minutes"),
    )


def downgrade() -> None:
    op.drop_table("coverage_minutes")
