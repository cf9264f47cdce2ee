"""Phone numbers for 回访 beside the ratings, outside their signed records (retention).

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

from hallserver.store.tables import UtcDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rating_contacts",
        sa.Column("rating_id", sa.Integer, sa.ForeignKey("ratings.id", name="fk_rating_contacts_rating"),
                  primary_key=True),
        sa.Column("phone", sa.String(11), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rating_contacts")
