"""enrichment: conflicts between found and existing values

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "enrichment_conflicts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("catalog_id", _ID, nullable=True),
        sa.Column("record_id", _ID, nullable=True),
        sa.Column("record_key", sa.String(length=500), nullable=True),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("existing_value", _JSON, nullable=True),
        sa.Column("proposed_value", _JSON, nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("sources", _JSON, nullable=False),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("resolved_value", _JSON, nullable=True),
        sa.Column("resolver", sa.String(length=200), nullable=True),
        sa.Column("run_id", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_enrichment_conflicts_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["catalog_id"],
            ["catalogs.id"],
            name=op.f("fk_enrichment_conflicts_catalog_id_catalogs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
            name=op.f("fk_enrichment_conflicts_record_id_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_enrichment_conflicts_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrichment_conflicts")),
    )
    op.create_index(
        op.f("ix_enrichment_conflicts_organization_id"),
        "enrichment_conflicts",
        ["organization_id"],
    )
    op.create_index(
        "ix_enrichment_conflicts_catalog_status", "enrichment_conflicts", ["catalog_id", "status"]
    )
    op.create_index(
        "ix_enrichment_conflicts_record_field", "enrichment_conflicts", ["record_id", "field"]
    )


def downgrade() -> None:
    op.drop_table("enrichment_conflicts")
