"""请销假 by level: each leave's approvals so far (JSON [[who, ISO time], …]).

Revision ID: 0027
Revises: 0026
"""
import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leaves") as batch:
        batch.add_column(sa.Column("approvals", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("leaves") as batch:
        batch.drop_column("approvals")
