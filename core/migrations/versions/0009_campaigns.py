"""Campaigns: a message to a segment or a list of fans, in variants; each send of one
carries its variant (`sends.campaign_variant_id`).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column(
            "segment_id",
            sa.Integer(),
            sa.ForeignKey("segments.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("fan_ids", sa.JSON(), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("launched_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_campaigns_status", "campaigns", ["status"])
    op.create_table(
        "campaign_variants",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ppv_price_cents", sa.Integer(), nullable=True),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("share", sa.Integer(), nullable=False),
        sa.Column("targeted", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
    )
    op.create_index("ix_campaign_variants_campaign_id", "campaign_variants", ["campaign_id"])
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("campaign_variant_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_sends_campaign_variant_id_campaign_variants",
            "campaign_variants",
            ["campaign_variant_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_sends_campaign_variant_id", ["campaign_variant_id"])


def downgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.drop_index("ix_sends_campaign_variant_id")
        batch.drop_constraint("fk_sends_campaign_variant_id_campaign_variants", type_="foreignkey")
        batch.drop_column("campaign_variant_id")
    op.drop_table("campaign_variants")
    op.drop_table("campaigns")
