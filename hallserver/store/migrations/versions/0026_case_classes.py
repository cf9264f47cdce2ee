"""Matter classes (通渭县 003): a case's 代办/帮办 helper (JSON), its delivery (window, mail,
online: 不见面) and the mail's tracking number (邮件号).

Revision ID: 0026
Revises: 0025
"""
import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("assisted", sa.Text))
        batch.add_column(sa.Column("delivery", sa.String(8)))
        batch.add_column(sa.Column("tracking", sa.String(40)))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("tracking")
        batch.drop_column("delivery")
        batch.drop_column("assisted")
