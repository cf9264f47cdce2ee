"""AB岗 coverage minutes per category of a post, beside those per post (the coverage report).

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "category_coverage_minutes",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("a_min", sa.Integer, nullable=False),
        sa.Column("b_min", sa.Integer, nullable=False),
        sa.Column("other_min", sa.Integer, nullable=False),
        sa.Column("none_min", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("day", "category", name="pk_category_coverage_minutes"),
    )


def downgrade() -> None:
    op.drop_table("category_coverage_minutes")
