"""channels: webhook subscriptions per change, batched or scheduled; the change-event outbox

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as table:
        table.add_column(
            sa.Column("mode", sa.String(length=20), nullable=False, server_default="per_change")
        )
        table.add_column(sa.Column("batch_size", sa.Integer(), nullable=False, server_default="100"))
        table.add_column(sa.Column("batch_seconds", sa.Integer(), nullable=False, server_default="60"))
        table.add_column(sa.Column("catalogs", JSON, nullable=False, server_default=sa.text("'[]'")))
        table.add_column(sa.Column("swept_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "webhook_change_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("subscription_id", ID, nullable=False),
        sa.Column("change_id", ID, nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("delivery_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], name=op.f("fk_webhook_change_events_organization_id_organizations")),
        sa.ForeignKeyConstraint(["subscription_id"], ["webhook_subscriptions.id"], name=op.f("fk_webhook_change_events_subscription_id_webhook_subscriptions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["change_id"], ["changes.id"], name=op.f("fk_webhook_change_events_change_id_changes"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_deliveries.id"], name=op.f("fk_webhook_change_events_delivery_id_webhook_deliveries"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_change_events")),
        sa.UniqueConstraint("subscription_id", "change_id", "event", name="uq_webhook_change_events_event"),
    )
    op.create_index("ix_webhook_change_events_pending", "webhook_change_events", ["subscription_id", "delivery_id"])
    # the change log is read by time for webhook subscriptions (catalog/webhooks/outbox.py);
    # decisions by time use ix_changes_catalog_decided (0008)
    op.create_index("ix_changes_catalog_created", "changes", ["catalog_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_changes_catalog_created", table_name="changes")
    op.drop_index("ix_webhook_change_events_pending", table_name="webhook_change_events")
    op.drop_table("webhook_change_events")
    with op.batch_alter_table("webhook_subscriptions") as table:
        for column in ("swept_until", "catalogs", "batch_seconds", "batch_size", "mode"):
            table.drop_column(column)
