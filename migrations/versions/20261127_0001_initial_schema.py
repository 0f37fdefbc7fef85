"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 04:51:46.820637
"""

from alembic import op
import sqlalchemy as sa
import helpdesk.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


# Copied from helpdesk.tickets.models.SEARCH_DDL as it stood at this revision: a revision
# must not change when the models do.
SEARCH_DDL = {
    'postgresql': [
        'CREATE EXTENSION IF NOT EXISTS pg_trgm',
    ],
    'sqlite': [
        "CREATE VIRTUAL TABLE IF NOT EXISTS ticket_search USING fts5(subject, body, tokenize='trigram')",
        'CREATE VIRTUAL TABLE IF NOT EXISTS ticket_search_vocab USING fts5vocab(ticket_search, row)',
        "CREATE TRIGGER IF NOT EXISTS ticket_search_insert AFTER INSERT ON tickets BEGIN INSERT INTO ticket_search(rowid, subject, body) VALUES (new.id, new.subject || char(10, 10), ''); END",
        'CREATE TRIGGER IF NOT EXISTS ticket_search_subject AFTER UPDATE OF subject ON tickets BEGIN UPDATE ticket_search SET subject = new.subject || char(10, 10) WHERE rowid = new.id; END',
        'CREATE TRIGGER IF NOT EXISTS ticket_search_delete AFTER DELETE ON tickets BEGIN DELETE FROM ticket_search WHERE rowid = old.id; END',
        'CREATE TRIGGER IF NOT EXISTS ticket_search_message AFTER INSERT ON messages BEGIN UPDATE ticket_search SET body = body || new.body_text || char(10, 10) WHERE rowid = new.ticket_id; END',
        "CREATE TRIGGER IF NOT EXISTS ticket_search_message_change AFTER UPDATE OF body_text, ticket_id ON messages BEGIN UPDATE ticket_search SET body = (SELECT coalesce(group_concat(body_text || char(10, 10), ''), '') FROM messages WHERE ticket_id = ticket_search.rowid) WHERE rowid IN (old.ticket_id, new.ticket_id); END",
        "CREATE TRIGGER IF NOT EXISTS ticket_search_message_delete AFTER DELETE ON messages BEGIN UPDATE ticket_search SET body = (SELECT coalesce(group_concat(body_text || char(10, 10), ''), '') FROM messages WHERE ticket_id = old.ticket_id) WHERE rowid = old.ticket_id; END",
    ],
}


def _dialect() -> str:
    return op.get_bind().dialect.name


def upgrade() -> None:
    # Search DDL the models cannot express (pg_trgm before its GIN indexes; SQLite's
    # FTS5 trigram table and triggers after the tables they read).
    if _dialect() == "postgresql":
        for statement in SEARCH_DDL["postgresql"]:
            op.execute(statement)
    op.create_table('attachment_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_attachment_blobs'))
    )
    op.create_table('custom_fields',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('field_type', sa.Enum('text', 'number', 'date', 'boolean', 'choice', name='fieldtype', native_enum=False, length=20), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_fields')),
    sa.UniqueConstraint('key', name=op.f('uq_custom_fields_key'))
    )
    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=50), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=False),
    sa.Column('subscription_status', sa.Enum('subscribed', 'unsubscribed', 'not_subscribed', name='subscriptionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('consent_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('consent_source', sa.String(length=100), nullable=False),
    sa.Column('unsubscribed_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers'))
    )
    op.create_index(op.f('ix_customers_created_at'), 'customers', ['created_at'], unique=False)
    op.create_index(op.f('ix_customers_subscription_status'), 'customers', ['subscription_status'], unique=False)
    op.create_index('uq_customers_email_lower', 'customers', [sa.literal_column('lower(email)')], unique=True)
    op.create_table('dashboard_faq_searches',
    sa.Column('query', sa.String(length=200), nullable=False),
    sa.Column('hour', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('searches', sa.Integer(), nullable=False),
    sa.Column('empty_searches', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('query', 'hour', name=op.f('pk_dashboard_faq_searches'))
    )
    op.create_index(op.f('ix_dashboard_faq_searches_hour'), 'dashboard_faq_searches', ['hour'], unique=False)
    op.create_table('faq_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_categories'))
    )
    op.create_table('faq_search_stats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('articles', sa.Integer(), nullable=False),
    sa.Column('total_length', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_search_stats'))
    )
    op.create_table('faq_search_vocabulary',
    sa.Column('term', sa.String(length=64), nullable=False),
    sa.Column('documents', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('term', name=op.f('pk_faq_search_vocabulary')),
    sqlite_with_rowid=False
    )
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    op.create_index(op.f('ix_login_attempts_at'), 'login_attempts', ['at'], unique=False)
    op.create_index(op.f('ix_login_attempts_email'), 'login_attempts', ['email'], unique=False)
    op.create_index(op.f('ix_login_attempts_ip'), 'login_attempts', ['ip'], unique=False)
    op.create_table('tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
    sa.UniqueConstraint('name', name=op.f('uq_tags_name'))
    )
    op.create_table('tracking_batches',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('applied_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_batches'))
    )
    op.create_index(op.f('ix_tracking_batches_applied_at'), 'tracking_batches', ['applied_at'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('admin', 'agent', 'marketer', name='role', native_enum=False, length=20), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('is_manager', sa.Boolean(), nullable=False),
    sa.Column('is_available', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('contact_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('call', 'meeting', 'chat', 'other', name='notekind', native_enum=False, length=20), nullable=False),
    sa.Column('happened_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_contact_notes_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_contact_notes_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_notes'))
    )
    op.create_index(op.f('ix_contact_notes_customer_id'), 'contact_notes', ['customer_id'], unique=False)
    op.create_table('custom_field_values',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('field_id', sa.Integer(), nullable=False),
    sa.Column('text_value', sa.Text(), nullable=True),
    sa.Column('number_value', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('date_value', sa.Date(), nullable=True),
    sa.Column('bool_value', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_custom_field_values_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['field_id'], ['custom_fields.id'], name=op.f('fk_custom_field_values_field_id_custom_fields'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'field_id', name=op.f('pk_custom_field_values'))
    )
    op.create_index('ix_custom_field_values_field_date', 'custom_field_values', ['field_id', 'date_value'], unique=False, postgresql_where=sa.text('date_value IS NOT NULL'), sqlite_where=sa.text('date_value IS NOT NULL'))
    op.create_index('ix_custom_field_values_field_number', 'custom_field_values', ['field_id', 'number_value'], unique=False, postgresql_where=sa.text('number_value IS NOT NULL'), sqlite_where=sa.text('number_value IS NOT NULL'))
    op.create_index('ix_custom_field_values_field_text', 'custom_field_values', ['field_id', 'text_value'], unique=False, postgresql_where=sa.text('text_value IS NOT NULL'), sqlite_where=sa.text('text_value IS NOT NULL'))
    op.create_table('customer_tags',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_tags_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_customer_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'tag_id', name=op.f('pk_customer_tags'))
    )
    op.create_index(op.f('ix_customer_tags_tag_id'), 'customer_tags', ['tag_id'], unique=False)
    op.create_table('faq_articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('language', sa.Enum('ko', 'en', name='articlelanguage', native_enum=False, length=20), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', name='articlestatus', native_enum=False, length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('body_plain', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('helpful_yes', sa.Integer(), nullable=False),
    sa.Column('helpful_no', sa.Integer(), nullable=False),
    sa.Column('used_in_replies', sa.Integer(), nullable=False),
    sa.Column('resolved_tickets', sa.Integer(), nullable=False),
    sa.Column('search_length', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_faq_articles_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['category_id'], ['faq_categories.id'], name=op.f('fk_faq_articles_category_id_faq_categories'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_articles')),
    sa.UniqueConstraint('language', 'slug', name=op.f('uq_faq_articles_language'))
    )
    op.create_index(op.f('ix_faq_articles_category_id'), 'faq_articles', ['category_id'], unique=False)
    op.create_index('ix_faq_articles_status_language', 'faq_articles', ['status', 'language'], unique=False)
    op.create_index('ix_faq_articles_status_search_length', 'faq_articles', ['status', 'search_length'], unique=False)
    op.create_table('import_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('customers', 'purchases', name='importkind', native_enum=False, length=20), nullable=False),
    sa.Column('status', sa.Enum('pending', 'queued', 'running', 'done', 'failed', name='importstatus', native_enum=False, length=20), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('failure', sa.Text(), nullable=False),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_import_jobs_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs'))
    )
    op.create_table('mailboxes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('imap_host', sa.String(length=255), nullable=False),
    sa.Column('imap_port', sa.Integer(), nullable=False),
    sa.Column('imap_tls', sa.Enum('ssl', 'starttls', 'none', name='tlsmode', native_enum=False, length=20), nullable=False),
    sa.Column('imap_user', sa.String(length=320), nullable=False),
    sa.Column('password_ref', sa.String(length=500), nullable=False),
    sa.Column('imap_folder', sa.String(length=255), nullable=False),
    sa.Column('archive_folder', sa.String(length=255), nullable=True),
    sa.Column('poll_interval_seconds', sa.Integer(), nullable=False),
    sa.Column('start_date', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('send_acknowledgement', sa.Boolean(), nullable=False),
    sa.Column('closed_reply_policy', sa.Enum('reopen', 'follow_up', name='closedreplypolicy', native_enum=False, length=20), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('auto_assign', sa.Boolean(), nullable=False),
    sa.Column('last_assigned_user_id', sa.Integer(), nullable=True),
    sa.Column('business_hours', sa.JSON(), nullable=True),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=True),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('last_poll_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_poll_fetched', sa.Integer(), nullable=False),
    sa.Column('total_fetched', sa.BigInteger(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('last_error_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['last_assigned_user_id'], ['users.id'], name=op.f('fk_mailboxes_last_assigned_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailboxes')),
    sa.UniqueConstraint('address', name=op.f('uq_mailboxes_address'))
    )
    op.create_table('purchases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('order_ref', sa.String(length=100), nullable=True),
    sa.Column('product', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('purchased_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_purchases_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchases')),
    sa.UniqueConstraint('customer_id', 'order_ref', 'product', name=op.f('uq_purchases_customer_id'))
    )
    op.create_index(op.f('ix_purchases_customer_id'), 'purchases', ['customer_id'], unique=False)
    op.create_index(op.f('ix_purchases_product'), 'purchases', ['product'], unique=False)
    op.create_index(op.f('ix_purchases_purchased_at'), 'purchases', ['purchased_at'], unique=False)
    op.create_table('segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_segments_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments'))
    )
    op.create_table('suppressions',
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('reason', sa.Enum('unsubscribed', 'hard_bounce', 'soft_bounces', 'complaint', 'manual', name='suppressionreason', native_enum=False, length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_suppressions_customer_id_customers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('email', name=op.f('pk_suppressions'))
    )
    op.create_index(op.f('ix_suppressions_customer_id'), 'suppressions', ['customer_id'], unique=False)
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=998), nullable=False),
    sa.Column('from_name', sa.String(length=200), nullable=False),
    sa.Column('from_email', sa.String(length=320), nullable=False),
    sa.Column('reply_to', sa.String(length=320), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('text_edited', sa.Boolean(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled', name='campaignstatus', native_enum=False, length=20), nullable=False),
    sa.Column('scheduled_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pause_reason', sa.Text(), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('total_recipients', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_campaigns_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_campaigns_segment_id_segments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    op.create_index(op.f('ix_campaigns_scheduled_at'), 'campaigns', ['scheduled_at'], unique=False)
    op.create_index(op.f('ix_campaigns_status'), 'campaigns', ['status'], unique=False)
    op.create_table('dashboard_article_views',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('hour', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['faq_articles.id'], name=op.f('fk_dashboard_article_views_article_id_faq_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'hour', name=op.f('pk_dashboard_article_views'))
    )
    op.create_index('ix_dashboard_article_views_hour', 'dashboard_article_views', ['hour', 'article_id', 'views'], unique=False)
    op.create_table('faq_article_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('editor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['faq_articles.id'], name=op.f('fk_faq_article_revisions_article_id_faq_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['editor_id'], ['users.id'], name=op.f('fk_faq_article_revisions_editor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_article_revisions'))
    )
    op.create_index(op.f('ix_faq_article_revisions_article_id'), 'faq_article_revisions', ['article_id'], unique=False)
    op.create_table('faq_article_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('visitor_id', sa.String(length=64), nullable=False),
    sa.Column('helpful', sa.Boolean(), nullable=False),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['faq_articles.id'], name=op.f('fk_faq_article_votes_article_id_faq_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_article_votes')),
    sa.UniqueConstraint('article_id', 'visitor_id', name=op.f('uq_faq_article_votes_article_id'))
    )
    op.create_table('faq_search_terms',
    sa.Column('term', sa.String(length=64), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('doc_length', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['faq_articles.id'], name=op.f('fk_faq_search_terms_article_id_faq_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('term', 'article_id', name=op.f('pk_faq_search_terms')),
    sqlite_with_rowid=False
    )
    op.create_index(op.f('ix_faq_search_terms_article_id'), 'faq_search_terms', ['article_id'], unique=False)
    op.create_table('sla_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox_id', sa.Integer(), nullable=True),
    sa.Column('priority', sa.Enum('low', 'normal', 'high', 'urgent', name='priority', native_enum=False, length=20), nullable=False),
    sa.Column('first_response_minutes', sa.Integer(), nullable=False),
    sa.Column('next_response_minutes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], name=op.f('fk_sla_policies_mailbox_id_mailboxes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policies')),
    sa.UniqueConstraint('mailbox_id', 'priority', name=op.f('uq_sla_policies_mailbox_id'))
    )
    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=998), nullable=False),
    sa.Column('status', sa.Enum('new', 'open', 'waiting', 'resolved', 'closed', name='ticketstatus', native_enum=False, length=20), nullable=False),
    sa.Column('priority', sa.Enum('low', 'normal', 'high', 'urgent', name='priority', native_enum=False, length=20), nullable=False),
    sa.Column('mailbox_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('follow_up_of_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_customer_message_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_agent_reply_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_response_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('response_due_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('customer_replied_last', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_tickets_assignee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_tickets_customer_id_customers')),
    sa.ForeignKeyConstraint(['follow_up_of_id'], ['tickets.id'], name=op.f('fk_tickets_follow_up_of_id_tickets')),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], name=op.f('fk_tickets_mailbox_id_mailboxes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['merged_into_id'], ['tickets.id'], name=op.f('fk_tickets_merged_into_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets'))
    )
    op.create_index(op.f('ix_tickets_assignee_id'), 'tickets', ['assignee_id'], unique=False)
    op.create_index('ix_tickets_assignee_status_updated', 'tickets', ['assignee_id', 'status', 'updated_at'], unique=False)
    op.create_index(op.f('ix_tickets_created_at'), 'tickets', ['created_at'], unique=False)
    op.create_index(op.f('ix_tickets_customer_id'), 'tickets', ['customer_id'], unique=False)
    op.create_index('ix_tickets_dashboard_created', 'tickets', ['created_at', 'mailbox_id', 'merged_into_id', 'status', 'assignee_id', 'priority', 'first_response_at'], unique=False)
    op.create_index('ix_tickets_dashboard_first_response', 'tickets', ['first_response_at', 'created_at', 'assignee_id', 'mailbox_id', 'merged_into_id', 'priority'], unique=False)
    op.create_index('ix_tickets_dashboard_resolved', 'tickets', ['resolved_at', 'status', 'created_at', 'assignee_id', 'mailbox_id', 'merged_into_id'], unique=False)
    op.create_index(op.f('ix_tickets_mailbox_id'), 'tickets', ['mailbox_id'], unique=False)
    op.create_index(op.f('ix_tickets_response_due_at'), 'tickets', ['response_due_at'], unique=False)
    op.create_index('ix_tickets_status_assignee_due', 'tickets', ['status', 'assignee_id', 'response_due_at'], unique=False)
    op.create_index('ix_tickets_status_updated', 'tickets', ['status', 'updated_at'], unique=False)
    if _dialect() == "postgresql":
        op.create_index('ix_tickets_subject_chars', 'tickets', [sa.literal_column('string_to_array(lower(subject), NULL)')], unique=False, postgresql_using='gin')
    if _dialect() == "postgresql":
        op.create_index('ix_tickets_subject_trgm', 'tickets', [sa.literal_column('lower(subject)').label('subject_lower')], unique=False, postgresql_using='gin', postgresql_ops={'subject_lower': 'gin_trgm_ops'})
    op.create_index(op.f('ix_tickets_updated_at'), 'tickets', ['updated_at'], unique=False)
    op.create_table('campaign_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_links_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_links')),
    sa.UniqueConstraint('campaign_id', 'position', name=op.f('uq_campaign_links_campaign_id'))
    )
    op.create_table('dashboard_faq_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('articles_read', sa.Integer(), nullable=False),
    sa.Column('last_article_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['last_article_id'], ['faq_articles.id'], name=op.f('fk_dashboard_faq_contacts_last_article_id_faq_articles'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_dashboard_faq_contacts_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_faq_contacts'))
    )
    op.create_index(op.f('ix_dashboard_faq_contacts_created_at'), 'dashboard_faq_contacts', ['created_at'], unique=False)
    op.create_index(op.f('ix_dashboard_faq_contacts_ticket_id'), 'dashboard_faq_contacts', ['ticket_id'], unique=False)
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('token', sa.String(length=40), nullable=False),
    sa.Column('state', sa.Enum('pending', 'sending', 'sent', 'failed', 'uncertain', 'skipped', name='deliverystate', native_enum=False, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=False),
    sa.Column('claimed_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.String(length=998), nullable=True),
    sa.Column('sent_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('first_opened_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('open_count', sa.Integer(), nullable=False),
    sa.Column('machine_open_count', sa.Integer(), nullable=False),
    sa.Column('first_clicked_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('click_count', sa.Integer(), nullable=False),
    sa.Column('bounce_kind', sa.String(length=20), nullable=False),
    sa.Column('bounced_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('complained_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('unsubscribed_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_deliveries_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_deliveries_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('campaign_id', 'customer_id', name=op.f('uq_deliveries_campaign_id')),
    sa.UniqueConstraint('token', name=op.f('uq_deliveries_token'))
    )
    op.create_index('ix_deliveries_campaign_state', 'deliveries', ['campaign_id', 'state', 'id'], unique=False)
    op.create_index('ix_deliveries_customer', 'deliveries', ['customer_id'], unique=False)
    op.create_index('ix_deliveries_first_clicked_at', 'deliveries', ['first_clicked_at', 'customer_id'], unique=False, postgresql_where=sa.text('first_clicked_at IS NOT NULL'), sqlite_where=sa.text('first_clicked_at IS NOT NULL'))
    op.create_index('ix_deliveries_first_opened_at', 'deliveries', ['first_opened_at', 'customer_id'], unique=False, postgresql_where=sa.text('first_opened_at IS NOT NULL'), sqlite_where=sa.text('first_opened_at IS NOT NULL'))
    op.create_index(op.f('ix_deliveries_message_id'), 'deliveries', ['message_id'], unique=False)
    op.create_table('faq_article_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolution_counted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['faq_articles.id'], name=op.f('fk_faq_article_uses_article_id_faq_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_faq_article_uses_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_faq_article_uses_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_article_uses'))
    )
    op.create_index(op.f('ix_faq_article_uses_article_id'), 'faq_article_uses', ['article_id'], unique=False)
    op.create_index(op.f('ix_faq_article_uses_ticket_id'), 'faq_article_uses', ['ticket_id'], unique=False)
    op.create_table('raw_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.Enum('imap', 'smtp', 'form', 'api', name='rawsource', native_enum=False, length=20), nullable=False),
    sa.Column('imap_uid', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('received', 'ingested', 'duplicate', 'auto_reply', 'bounce', 'complaint', 'dropped', 'quarantined', name='rawstatus', native_enum=False, length=20), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('processed_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['raw_messages.id'], name=op.f('fk_raw_messages_duplicate_of_id_raw_messages')),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], name=op.f('fk_raw_messages_mailbox_id_mailboxes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_raw_messages_ticket_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raw_messages'))
    )
    op.create_index(op.f('ix_raw_messages_mailbox_id'), 'raw_messages', ['mailbox_id'], unique=False)
    op.create_index(op.f('ix_raw_messages_message_id'), 'raw_messages', ['message_id'], unique=False)
    op.create_index(op.f('ix_raw_messages_received_at'), 'raw_messages', ['received_at'], unique=False)
    op.create_index(op.f('ix_raw_messages_sha256'), 'raw_messages', ['sha256'], unique=False)
    op.create_index(op.f('ix_raw_messages_status'), 'raw_messages', ['status'], unique=False)
    op.create_index(op.f('ix_raw_messages_ticket_id'), 'raw_messages', ['ticket_id'], unique=False)
    op.create_table('ticket_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_participants_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_participants')),
    sa.UniqueConstraint('ticket_id', 'email', name=op.f('uq_ticket_participants_ticket_id'))
    )
    op.create_table('ticket_tags',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_ticket_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_tags_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', 'tag_id', name=op.f('pk_ticket_tags'))
    )
    op.create_index(op.f('ix_ticket_tags_tag_id'), 'ticket_tags', ['tag_id'], unique=False)
    op.create_table('click_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_agent', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_click_events_delivery_id_deliveries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['link_id'], ['campaign_links.id'], name=op.f('fk_click_events_link_id_campaign_links'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_click_events'))
    )
    op.create_index(op.f('ix_click_events_at'), 'click_events', ['at'], unique=False)
    op.create_index(op.f('ix_click_events_delivery_id'), 'click_events', ['delivery_id'], unique=False)
    op.create_table('delivery_problems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('raw_message_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('kind', sa.Enum('hard_bounce', 'soft_bounce', 'complaint', name='deliveryproblemkind', native_enum=False, length=20), nullable=False),
    sa.Column('status_code', sa.String(length=20), nullable=False),
    sa.Column('diagnostic', sa.Text(), nullable=False),
    sa.Column('original_message_id', sa.String(length=998), nullable=True),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_delivery_problems_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['raw_message_id'], ['raw_messages.id'], name=op.f('fk_delivery_problems_raw_message_id_raw_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_problems'))
    )
    op.create_index(op.f('ix_delivery_problems_created_at'), 'delivery_problems', ['created_at'], unique=False)
    op.create_index(op.f('ix_delivery_problems_customer_id'), 'delivery_problems', ['customer_id'], unique=False)
    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('customer', 'reply', 'note', 'auto_reply', 'acknowledgement', 'event', name='messagekind', native_enum=False, length=20), nullable=False),
    sa.Column('raw_message_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.String(length=998), nullable=True),
    sa.Column('in_reply_to', sa.String(length=998), nullable=True),
    sa.Column('references', sa.JSON(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('from_email', sa.String(length=320), nullable=False),
    sa.Column('from_name', sa.String(length=200), nullable=False),
    sa.Column('to', sa.JSON(), nullable=False),
    sa.Column('cc', sa.JSON(), nullable=False),
    sa.Column('subject', sa.String(length=998), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_reply', sa.Text(), nullable=False),
    sa.Column('body_html_safe', sa.Text(), nullable=True),
    sa.Column('send_status', sa.Enum('queued', 'sending', 'sent', 'failed', name='sendstatus', native_enum=False, length=20), nullable=True),
    sa.Column('send_error', sa.Text(), nullable=False),
    sa.Column('sent_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_messages_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['raw_message_id'], ['raw_messages.id'], name=op.f('fk_messages_raw_message_id_raw_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_messages_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('message_id', name=op.f('uq_messages_message_id'))
    )
    if _dialect() == "postgresql":
        op.create_index('ix_messages_body_text_chars', 'messages', [sa.literal_column('string_to_array(lower(body_text), NULL)')], unique=False, postgresql_using='gin')
    if _dialect() == "postgresql":
        op.create_index('ix_messages_body_text_trgm', 'messages', [sa.literal_column('lower(body_text)').label('body_text_lower')], unique=False, postgresql_using='gin', postgresql_ops={'body_text_lower': 'gin_trgm_ops'})
    op.create_index(op.f('ix_messages_created_at'), 'messages', ['created_at'], unique=False)
    op.create_index('ix_messages_dashboard_kind_created', 'messages', ['kind', 'created_at', 'author_id', 'ticket_id'], unique=False)
    op.create_index(op.f('ix_messages_ticket_id'), 'messages', ['ticket_id'], unique=False)
    op.create_table('open_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('is_machine', sa.Boolean(), nullable=False),
    sa.Column('user_agent', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_open_events_delivery_id_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_events'))
    )
    op.create_index(op.f('ix_open_events_at'), 'open_events', ['at'], unique=False)
    op.create_index(op.f('ix_open_events_delivery_id'), 'open_events', ['delivery_id'], unique=False)
    op.create_table('seen_messages',
    sa.Column('dedupe_key', sa.String(length=1000), nullable=False),
    sa.Column('raw_message_id', sa.Integer(), nullable=False),
    sa.Column('seen_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['raw_message_id'], ['raw_messages.id'], name=op.f('fk_seen_messages_raw_message_id_raw_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dedupe_key', name=op.f('pk_seen_messages'))
    )
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('blob_sha256', sa.String(length=64), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_id', sa.String(length=255), nullable=True),
    sa.Column('inline', sa.Boolean(), nullable=False),
    sa.Column('too_large', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['blob_sha256'], ['attachment_blobs.sha256'], name=op.f('fk_attachments_blob_sha256_attachment_blobs')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_attachments_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    op.create_index(op.f('ix_attachments_message_id'), 'attachments', ['message_id'], unique=False)
    op.create_table('mentions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_mentions_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_mentions_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mentions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentions'))
    )
    op.create_index(op.f('ix_mentions_user_id'), 'mentions', ['user_id'], unique=False)
    if _dialect() == "sqlite":
        for statement in SEARCH_DDL["sqlite"]:
            op.execute(statement)
    # ### end Alembic commands ###


def downgrade() -> None:
    if _dialect() == "sqlite":
        op.execute("DROP TABLE IF EXISTS ticket_search_vocab")
        op.execute("DROP TABLE IF EXISTS ticket_search")
    op.drop_index(op.f('ix_mentions_user_id'), table_name='mentions')
    op.drop_table('mentions')
    op.drop_index(op.f('ix_attachments_message_id'), table_name='attachments')
    op.drop_table('attachments')
    op.drop_table('seen_messages')
    op.drop_index(op.f('ix_open_events_delivery_id'), table_name='open_events')
    op.drop_index(op.f('ix_open_events_at'), table_name='open_events')
    op.drop_table('open_events')
    op.drop_index(op.f('ix_messages_ticket_id'), table_name='messages')
    op.drop_index('ix_messages_dashboard_kind_created', table_name='messages')
    op.drop_index(op.f('ix_messages_created_at'), table_name='messages')
    if _dialect() == "postgresql":
        op.drop_index('ix_messages_body_text_trgm', table_name='messages', postgresql_using='gin', postgresql_ops={'body_text_lower': 'gin_trgm_ops'})
    if _dialect() == "postgresql":
        op.drop_index('ix_messages_body_text_chars', table_name='messages', postgresql_using='gin')
    op.drop_table('messages')
    op.drop_index(op.f('ix_delivery_problems_customer_id'), table_name='delivery_problems')
    op.drop_index(op.f('ix_delivery_problems_created_at'), table_name='delivery_problems')
    op.drop_table('delivery_problems')
    op.drop_index(op.f('ix_click_events_delivery_id'), table_name='click_events')
    op.drop_index(op.f('ix_click_events_at'), table_name='click_events')
    op.drop_table('click_events')
    op.drop_index(op.f('ix_ticket_tags_tag_id'), table_name='ticket_tags')
    op.drop_table('ticket_tags')
    op.drop_table('ticket_participants')
    op.drop_index(op.f('ix_raw_messages_ticket_id'), table_name='raw_messages')
    op.drop_index(op.f('ix_raw_messages_status'), table_name='raw_messages')
    op.drop_index(op.f('ix_raw_messages_sha256'), table_name='raw_messages')
    op.drop_index(op.f('ix_raw_messages_received_at'), table_name='raw_messages')
    op.drop_index(op.f('ix_raw_messages_message_id'), table_name='raw_messages')
    op.drop_index(op.f('ix_raw_messages_mailbox_id'), table_name='raw_messages')
    op.drop_table('raw_messages')
    op.drop_index(op.f('ix_faq_article_uses_ticket_id'), table_name='faq_article_uses')
    op.drop_index(op.f('ix_faq_article_uses_article_id'), table_name='faq_article_uses')
    op.drop_table('faq_article_uses')
    op.drop_index(op.f('ix_deliveries_message_id'), table_name='deliveries')
    op.drop_index('ix_deliveries_first_opened_at', table_name='deliveries', postgresql_where=sa.text('first_opened_at IS NOT NULL'), sqlite_where=sa.text('first_opened_at IS NOT NULL'))
    op.drop_index('ix_deliveries_first_clicked_at', table_name='deliveries', postgresql_where=sa.text('first_clicked_at IS NOT NULL'), sqlite_where=sa.text('first_clicked_at IS NOT NULL'))
    op.drop_index('ix_deliveries_customer', table_name='deliveries')
    op.drop_index('ix_deliveries_campaign_state', table_name='deliveries')
    op.drop_table('deliveries')
    op.drop_index(op.f('ix_dashboard_faq_contacts_ticket_id'), table_name='dashboard_faq_contacts')
    op.drop_index(op.f('ix_dashboard_faq_contacts_created_at'), table_name='dashboard_faq_contacts')
    op.drop_table('dashboard_faq_contacts')
    op.drop_table('campaign_links')
    op.drop_index(op.f('ix_tickets_updated_at'), table_name='tickets')
    if _dialect() == "postgresql":
        op.drop_index('ix_tickets_subject_trgm', table_name='tickets', postgresql_using='gin', postgresql_ops={'subject_lower': 'gin_trgm_ops'})
    if _dialect() == "postgresql":
        op.drop_index('ix_tickets_subject_chars', table_name='tickets', postgresql_using='gin')
    op.drop_index('ix_tickets_status_updated', table_name='tickets')
    op.drop_index('ix_tickets_status_assignee_due', table_name='tickets')
    op.drop_index(op.f('ix_tickets_response_due_at'), table_name='tickets')
    op.drop_index(op.f('ix_tickets_mailbox_id'), table_name='tickets')
    op.drop_index('ix_tickets_dashboard_resolved', table_name='tickets')
    op.drop_index('ix_tickets_dashboard_first_response', table_name='tickets')
    op.drop_index('ix_tickets_dashboard_created', table_name='tickets')
    op.drop_index(op.f('ix_tickets_customer_id'), table_name='tickets')
    op.drop_index(op.f('ix_tickets_created_at'), table_name='tickets')
    op.drop_index('ix_tickets_assignee_status_updated', table_name='tickets')
    op.drop_index(op.f('ix_tickets_assignee_id'), table_name='tickets')
    op.drop_table('tickets')
    op.drop_table('sla_policies')
    op.drop_index(op.f('ix_faq_search_terms_article_id'), table_name='faq_search_terms')
    op.drop_table('faq_search_terms')
    op.drop_table('faq_article_votes')
    op.drop_index(op.f('ix_faq_article_revisions_article_id'), table_name='faq_article_revisions')
    op.drop_table('faq_article_revisions')
    op.drop_index('ix_dashboard_article_views_hour', table_name='dashboard_article_views')
    op.drop_table('dashboard_article_views')
    op.drop_index(op.f('ix_campaigns_status'), table_name='campaigns')
    op.drop_index(op.f('ix_campaigns_scheduled_at'), table_name='campaigns')
    op.drop_table('campaigns')
    op.drop_index(op.f('ix_suppressions_customer_id'), table_name='suppressions')
    op.drop_table('suppressions')
    op.drop_table('segments')
    op.drop_index(op.f('ix_purchases_purchased_at'), table_name='purchases')
    op.drop_index(op.f('ix_purchases_product'), table_name='purchases')
    op.drop_index(op.f('ix_purchases_customer_id'), table_name='purchases')
    op.drop_table('purchases')
    op.drop_table('mailboxes')
    op.drop_table('import_jobs')
    op.drop_index('ix_faq_articles_status_search_length', table_name='faq_articles')
    op.drop_index('ix_faq_articles_status_language', table_name='faq_articles')
    op.drop_index(op.f('ix_faq_articles_category_id'), table_name='faq_articles')
    op.drop_table('faq_articles')
    op.drop_index(op.f('ix_customer_tags_tag_id'), table_name='customer_tags')
    op.drop_table('customer_tags')
    op.drop_index('ix_custom_field_values_field_text', table_name='custom_field_values', postgresql_where=sa.text('text_value IS NOT NULL'), sqlite_where=sa.text('text_value IS NOT NULL'))
    op.drop_index('ix_custom_field_values_field_number', table_name='custom_field_values', postgresql_where=sa.text('number_value IS NOT NULL'), sqlite_where=sa.text('number_value IS NOT NULL'))
    op.drop_index('ix_custom_field_values_field_date', table_name='custom_field_values', postgresql_where=sa.text('date_value IS NOT NULL'), sqlite_where=sa.text('date_value IS NOT NULL'))
    op.drop_table('custom_field_values')
    op.drop_index(op.f('ix_contact_notes_customer_id'), table_name='contact_notes')
    op.drop_table('contact_notes')
    op.drop_table('users')
    op.drop_index(op.f('ix_tracking_batches_applied_at'), table_name='tracking_batches')
    op.drop_table('tracking_batches')
    op.drop_table('tags')
    op.drop_index(op.f('ix_login_attempts_ip'), table_name='login_attempts')
    op.drop_index(op.f('ix_login_attempts_email'), table_name='login_attempts')
    op.drop_index(op.f('ix_login_attempts_at'), table_name='login_attempts')
    op.drop_table('login_attempts')
    op.drop_table('faq_search_vocabulary')
    op.drop_table('faq_search_stats')
    op.drop_table('faq_categories')
    op.drop_index(op.f('ix_dashboard_faq_searches_hour'), table_name='dashboard_faq_searches')
    op.drop_table('dashboard_faq_searches')
    op.drop_index('uq_customers_email_lower', table_name='customers')
    op.drop_index(op.f('ix_customers_subscription_status'), table_name='customers')
    op.drop_index(op.f('ix_customers_created_at'), table_name='customers')
    op.drop_table('customers')
    op.drop_table('custom_fields')
    op.drop_table('attachment_blobs')
    # ### end Alembic commands ###
