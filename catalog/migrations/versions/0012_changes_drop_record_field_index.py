"""changes: drop `ix_changes_record_field`, which the proposal key already covers

`uq_changes_proposal` is a unique index on (record_id, field, operation, basis): every lookup
by record, or by record and field, uses its first columns, and the few rows of one record's
field are sorted by id in no time. The second index only cost every change written one more
index entry (issue 16).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 00:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_changes_record_field", table_name="changes")


def downgrade() -> None:
    op.create_index("ix_changes_record_field", "changes", ["record_id", "field"])
