"""held rows: source rows a run did not apply because they broke a blocking rule

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "held_rows",
        sa.Column("id", ID, nullable=False),
        sa.Column("catalog_id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("record_id", ID, nullable=True),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("values", JSON, nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("halted", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["catalog_id"], ["catalogs.id"], name=op.f("fk_held_rows_catalog_id_catalogs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_held_rows_run_id_runs")),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f("fk_held_rows_record_id_records"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_rows")),
    )
    op.create_index("ix_held_rows_catalog_status", "held_rows", ["catalog_id", "status", "id"])
    op.create_index("ix_held_rows_catalog_external", "held_rows", ["catalog_id", "external_id"])
    op.create_index(op.f("ix_held_rows_run_id"), "held_rows", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_held_rows_run_id"), table_name="held_rows")
    op.drop_index("ix_held_rows_catalog_external", table_name="held_rows")
    op.drop_index("ix_held_rows_catalog_status", table_name="held_rows")
    op.drop_table("held_rows")
