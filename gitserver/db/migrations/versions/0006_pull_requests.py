"""pull requests: the requests, their events, approvals, overrides, approval rules and
templates, comments and reactions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 02:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gitserver.db.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC = gitserver.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "approval_rule_templates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("last_modified_user", sa.String(length=256), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "approval_rule_template_repositories",
        sa.Column("template_id", sa.String(length=36), nullable=False),
        sa.Column("repository_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["template_id"], ["approval_rule_templates.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("template_id", "repository_id"),
    )
    op.create_index(
        op.f("ix_approval_rule_template_repositories_repository_id"),
        "approval_rule_template_repositories",
        ["repository_id"],
        unique=False,
    )
    op.create_table(
        "pull_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repository_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=150), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("author_arn", sa.String(length=256), nullable=False),
        sa.Column("client_request_token", sa.String(length=256), nullable=True),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("source_ref", sa.String(length=1024), nullable=False),
        sa.Column("destination_ref", sa.String(length=1024), nullable=False),
        sa.Column("source_commit", sa.String(length=64), nullable=False),
        sa.Column("destination_commit", sa.String(length=64), nullable=False),
        sa.Column("merge_base", sa.String(length=64), nullable=False),
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("is_merged", sa.Boolean(), nullable=False),
        sa.Column("merged_by", sa.String(length=256), nullable=False),
        sa.Column("merge_commit_id", sa.String(length=64), nullable=False),
        sa.Column("merge_option", sa.String(length=32), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("stale_actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_request_token"),
    )
    op.create_index(
        op.f("ix_pull_requests_author_arn"), "pull_requests", ["author_arn"], unique=False
    )
    op.create_index(
        "ix_pull_requests_open_refs",
        "pull_requests",
        ["repository_id", "status", "stale"],
        unique=False,
    )
    op.create_index(
        "ix_pull_requests_repository_status",
        "pull_requests",
        ["repository_id", "status"],
        unique=False,
    )
    op.create_table(
        "approval_rules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("pull_request_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("template_id", sa.String(length=36), nullable=False),
        sa.Column("template_name", sa.String(length=100), nullable=False),
        sa.Column("last_modified_user", sa.String(length=256), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["pull_request_id"], ["pull_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_approval_rules_pull_request_id"),
        "approval_rules",
        ["pull_request_id"],
        unique=False,
    )
    op.create_index(
        "ux_approval_rules_pr_name", "approval_rules", ["pull_request_id", "name"], unique=True
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("repository_id", sa.String(length=36), nullable=False),
        sa.Column("pull_request_id", sa.Integer(), nullable=True),
        sa.Column("before_commit", sa.String(length=64), nullable=False),
        sa.Column("after_commit", sa.String(length=64), nullable=False),
        sa.Column("before_blob", sa.String(length=64), nullable=False),
        sa.Column("after_blob", sa.String(length=64), nullable=False),
        sa.Column("file_path", sa.Text(), nullable=True),
        sa.Column("file_position", sa.BigInteger(), nullable=True),
        sa.Column("relative_version", sa.String(length=8), nullable=True),
        sa.Column("in_reply_to", sa.String(length=36), nullable=True),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("author_arn", sa.String(length=256), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("client_request_token", sa.String(length=256), nullable=True),
        sa.Column("current_commit", sa.String(length=64), nullable=False),
        sa.Column("current_path", sa.Text(), nullable=True),
        sa.Column("current_blob", sa.String(length=64), nullable=False),
        sa.Column("current_position", sa.BigInteger(), nullable=True),
        sa.Column("outdated", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["pull_request_id"], ["pull_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_request_token"),
    )
    op.create_index(
        "ix_comments_commits",
        "comments",
        ["repository_id", "before_commit", "after_commit"],
        unique=False,
    )
    op.create_index(op.f("ix_comments_in_reply_to"), "comments", ["in_reply_to"], unique=False)
    op.create_index("ix_comments_pull_request", "comments", ["pull_request_id"], unique=False)
    op.create_table(
        "pull_request_approvals",
        sa.Column("pull_request_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("user_arn", sa.String(length=256), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("time", UTC, nullable=False),
        sa.ForeignKeyConstraint(["pull_request_id"], ["pull_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pull_request_id", "revision_id", "user_arn"),
    )
    op.create_table(
        "pull_request_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pull_request_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("actor_arn", sa.String(length=256), nullable=False),
        sa.Column("time", UTC, nullable=False),
        sa.Column("metadata_key", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["pull_request_id"], ["pull_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_pull_request_events_pull_request_id"),
        "pull_request_events",
        ["pull_request_id"],
        unique=False,
    )
    op.create_table(
        "pull_request_overrides",
        sa.Column("pull_request_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("overrider_arn", sa.String(length=256), nullable=False),
        sa.Column("time", UTC, nullable=False),
        sa.ForeignKeyConstraint(["pull_request_id"], ["pull_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pull_request_id", "revision_id"),
    )
    op.create_table(
        "comment_reactions",
        sa.Column("comment_id", sa.String(length=36), nullable=False),
        sa.Column("user_arn", sa.String(length=256), nullable=False),
        sa.Column("emoji", sa.String(length=64), nullable=False),
        sa.Column("time", UTC, nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("comment_id", "user_arn"),
    )


def downgrade() -> None:
    op.drop_table("comment_reactions")
    op.drop_table("pull_request_overrides")
    op.drop_index(op.f("ix_pull_request_events_pull_request_id"), table_name="pull_request_events")
    op.drop_table("pull_request_events")
    op.drop_table("pull_request_approvals")
    op.drop_index("ix_comments_pull_request", table_name="comments")
    op.drop_index(op.f("ix_comments_in_reply_to"), table_name="comments")
    op.drop_index("ix_comments_commits", table_name="comments")
    op.drop_table("comments")
    op.drop_index("ux_approval_rules_pr_name", table_name="approval_rules")
    op.drop_index(op.f("ix_approval_rules_pull_request_id"), table_name="approval_rules")
    op.drop_table("approval_rules")
    op.drop_index("ix_pull_requests_repository_status", table_name="pull_requests")
    op.drop_index("ix_pull_requests_open_refs", table_name="pull_requests")
    op.drop_index(op.f("ix_pull_requests_author_arn"), table_name="pull_requests")
    op.drop_table("pull_requests")
    op.drop_index(
        op.f("ix_approval_rule_template_repositories_repository_id"),
        table_name="approval_rule_template_repositories",
    )
    op.drop_table("approval_rule_template_repositories")
    op.drop_table("approval_rule_templates")
