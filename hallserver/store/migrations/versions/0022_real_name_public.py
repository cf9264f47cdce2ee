"""Real-name 预约 and 网上申报: an appointment keeps the keyed hash of its booker's ID number
(never the number), an online case its applicant (name, phone, the ID number's keyed hash).

Revision ID: 0022
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("id_hash", sa.String(64), nullable=False, server_default=""))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("applicant", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("applicant")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("id_hash")
