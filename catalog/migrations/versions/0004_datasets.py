"""datasets (rows, columns, cells, lock) and enrichment-job items

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("locked_by_run_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_datasets_organization_id_organizations")),
        sa.ForeignKeyConstraint(["locked_by_run_id"], ["runs.id"], name=op.f("fk_datasets_locked_by_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
    )
    op.create_index(op.f("ix_datasets_organization_id"), "datasets", ["organization_id"])
    op.create_table(
        "dataset_columns",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("dataset_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(50), nullable=True),
        sa.Column("enum", JSON, nullable=True),
        sa.Column("task_type", sa.String(50), nullable=True),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name=op.f("fk_dataset_columns_dataset_id_datasets"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_columns")),
        sa.UniqueConstraint("dataset_id", "name", name=op.f("uq_dataset_columns_dataset_id")),
    )
    op.create_index(op.f("ix_dataset_columns_dataset_id"), "dataset_columns", ["dataset_id"])
    op.create_table(
        "dataset_rows",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("dataset_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("staged", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name=op.f("fk_dataset_rows_dataset_id_datasets"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_rows")),
    )
    op.create_index("ix_dataset_rows_dataset_staged", "dataset_rows", ["dataset_id", "staged", "position"])
    op.create_table(
        "dataset_cells",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("dataset_id", sa.String(36), nullable=False),
        sa.Column("row_id", sa.String(40), nullable=False),
        sa.Column("column_id", sa.String(40), nullable=False),
        sa.Column("value", JSON, nullable=True),
        sa.Column("meta", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name=op.f("fk_dataset_cells_dataset_id_datasets"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["row_id"], ["dataset_rows.id"], name=op.f("fk_dataset_cells_row_id_dataset_rows"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["column_id"], ["dataset_columns.id"], name=op.f("fk_dataset_cells_column_id_dataset_columns"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_cells")),
        sa.UniqueConstraint("row_id", "column_id", name=op.f("uq_dataset_cells_row_id")),
    )
    op.create_index("ix_dataset_cells_dataset_column", "dataset_cells", ["dataset_id", "column_id"])
    op.create_table(
        "enrich_items",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("in_scope", sa.Boolean(), nullable=False),
        sa.Column("original", JSON, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_enrich_items_run_id_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrich_items")),
    )
    op.create_index("ix_enrich_items_run_state", "enrich_items", ["run_id", "state", "position"])


def downgrade() -> None:
    op.drop_table("enrich_items")
    op.drop_table("dataset_cells")
    op.drop_table("dataset_rows")
    op.drop_table("dataset_columns")
    op.drop_table("datasets")
