// Which feature owns which database object: the input of scripts/schema/consolidate.mjs.
//
// Features are listed in the order their schema files (and the squashed migrations) apply: a
// feature may use what an earlier one defines, never a later one.
//
// `objects` are globs over object keys:
//   tables, views, sequences, types:  schema.name            e.g. public.customer_consent
//   functions (every overload):        schema.name            e.g. private.tl_*
//   indexes, constraints, triggers,
//   policies, column defaults:         schema.table/name      e.g. public.*/_200_facts_*
//   the schema itself:                 schema:private
// `*` matches within one part (never across `.` or `/`). An exact name beats a glob, a longer glob
// beats a shorter one; two features matching a key equally is an error.
// An index, constraint, trigger, policy or default that no glob names goes to the latest of: its
// table's feature and the features of what it references (a foreign key's other table, a
// trigger's function, a policy's functions). So a timeline trigger on `bookings` lands in
// timeline_sources.sql and a foreign key from email_logs to campaigns in campaigns.sql.
//
// `data`: tables whose rows are part of the definition (settings, lookup tables); they are written
// as `insert ... on conflict do nothing` right after the tables. `cron: true`: the feature that
// holds every pg_cron schedule. `before` / `after`: hand-written SQL placed first / last.
export default [
  {
    feature: "platform",
    title: "Platform",
    about: `The business tables that exist before the CRM (users, equipment, bookings, payments,
support, insurance, e-mail logs), the private schema for privileged helpers, and the defaults
that make every grant explicit.`,
    before: `create extension if not exists pg_cron with schema pg_catalog;
create extension if not exists pgcrypto with schema extensions;

-- Privileged helpers, trigger functions and cron targets live here; PostgREST does not expose it.
create schema if not exists private;

-- Revoke by default, grant explicitly. A per-schema ALTER DEFAULT PRIVILEGES cannot take back
-- the global default, hence the global revoke as well.
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from anon, authenticated, service_role;
alter default privileges in schema private revoke execute on functions from public;
-- Supabase's platform grants anon, authenticated and service_role everything created in public by
-- default: take that back, so each object grants what each role needs (docs/api.md, grants).
alter default privileges for role postgres in schema public revoke all on tables from public, anon, authenticated, service_role;
alter default privileges for role postgres in schema public revoke all on sequences from public, anon, authenticated, service_role;
alter default privileges for role postgres in schema public revoke all on functions from public, anon, authenticated, service_role;
alter default privileges for role postgres in schema private revoke all on tables from public, anon, authenticated, service_role;
alter default privileges for role postgres in schema private revoke all on sequences from public, anon, authenticated, service_role;`,
    objects: [
      "schema:private",
      "public.users", "public.equipment_categories", "public.equipment", "public.bookings",
      "public.booking_items", "public.logistics_tasks", "public.payments", "public.manual_payments",
      "public.support_tickets", "public.support_messages", "public.insurance_documents", "public.email_logs",
      "private.tg_set_updated_at", "private.tg_delete_dependents",
    ],
  },
  {
    feature: "roles_and_permissions",
    title: "Roles and permissions",
    about: `Staff roles (admin, communications) and the helpers every policy and RPC asks; the
row-level security policies of the platform tables.`,
    objects: [
      "public.user_roles", "private.has_role", "private.has_staff_role", "private.is_admin", "private.is_communicator",
      "private.is_trusted", "private.require_role", "private.require_argument", "private.assert_staff",
    ],
  },
  {
    feature: "audit",
    title: "Audit log",
    about: `Append-only audit log of staff changes; the generic audit and refuse-change triggers.`,
    objects: ["public.audit_log", "private.write_audit", "private.audit_export", "private.tg_audit", "private.tg_refuse_change"],
  },
  {
    feature: "tags",
    title: "Tags",
    about: `Customer tags and their assignments.`,
    objects: ["public.customer_tags", "public.customer_tag_members"],
  },
  {
    feature: "notes",
    title: "Notes",
    about: `Staff notes on customers, private or shared with the customer.`,
    objects: ["public.customer_notes"],
  },
  {
    feature: "consent",
    title: "Consent",
    about: `Per-channel marketing consent, its append-only history with proof, the customer's own
opt-out precedence and the audited staff override.`,
    data: ["public.consent_settings", "public.consent_texts"],
    objects: [
      "public.customer_consent", "public.customer_consent_history", "private.tg_customer_consent__stamp",
      "private.tg_customer_consent__history", "private.tg_customer_consent_history__append_only",
      "public.set_customer_consent", "private.consent_source_is_customers_own", "private.audit_consent_override",
      "public.consent_settings", "public.consent_texts", "private.tg_consent_settings__stamp",
      "private.tg_consent_texts__version", "private.current_consent_text", "private.change_consent",
      "private.consent_caller", "private.consent_source_for", "private.apply_sms_keyword",
      "private.assert_opt_out_precedence", "private.tg_customer_consent__audit", "private.tg_customer_consent__wording",
      "public.consent_confirmations", "private.request_consent_confirmation", "private.confirm_consent",
      "private.confirm_consent_by_link", "private.confirm_sms_consent", "private.describe_consent_confirmation",
    ],
  },
  {
    feature: "timeline",
    title: "Customer timeline",
    about: `One event stream per customer: the events table, the writers, per-day counts, and the
paged customer_timeline RPC with its export audit.`,
    objects: [
      "public.customer_timeline_events", "private.timeline_event", "private.record_timeline_event",
      "private.record_timeline_events", "private.customer_timeline_counts", "private.customer_timeline_totals",
      "private.tg_customer_timeline_events__*", "private.compact_timeline_counts", "private.timeline_counts",
      "private.timeline_event_types", "private.timeline_event_json", "private.timeline_cursor_*",
      "public.customer_timeline",
    ],
  },
  {
    feature: "timeline_sources",
    title: "Timeline sources",
    about: `How each source table (bookings, logistics, payments, support, insurance, e-mails,
notes, consent, tags) reaches the timeline: set-based builders, the triggers, drift detection
and backfill.`,
    objects: [
      "private.tl_*", "private.tg_*__timeline", "private.tg_record_timeline", "private.mark_timeline_source_deleted",
      "private.timeline_drift", "private.timeline_drift_by_source", "private.backfill_customer_timeline",
    ],
  },
  {
    feature: "customer_facts",
    title: "Customer facts",
    about: `One row of derived facts per customer (profile, bookings, spend, tags, consent,
engagement, risk), kept current by triggers; what segments filter on.`,
    objects: [
      "public.customer_facts", "private.customer_risk_scores", "private.customer_engagement",
      "private.booking_facts", "private.consent_facts", "private.engagement_facts", "private.profile_facts",
      "private.spend_facts", "private.tag_facts", "private.facts_rules", "private.lock_customer_facts", "private.refresh_facts",
      "private.refresh_customer_facts", "private.write_facts",
      "private.tg_*__facts", "private.tg_*__facts_*", "private.tg_refresh_customer_facts",
    ],
  },
  {
    feature: "segment_language",
    title: "Segment language",
    about: `The JSON segment language: validation with precise errors, the compiler to SQL over
customer_facts, evaluation, explanation, and its settings.`,
    data: ["private.segment_settings"],
    objects: [
      "private.segment_settings", "private.segment_query", "private.segment_*", "public.validate_segment",
      "private.assert_valid_segment", "private.compile_segment*", "public.evaluate_segment",
      "private.explain_segment_node", "public.explain_segment_membership", "private.tg_segment_settings__apply",
      "public.segment_whitelist",
    ],
  },
  {
    feature: "saved_segments",
    title: "Saved segments",
    about: `Saved segments, their refreshed members, nightly auto-refresh, and where campaigns use them.`,
    objects: [
      "public.customer_segments", "public.customer_segment_members", "private.tg_customer_segments__validate",
      "private.apply_segment_refresh", "public.refresh_segment", "private.refresh_auto_segments",
      "public.duplicate_segment", "private.segment_campaign_usage", "public.segment_usage", "public.segment_manager",
    ],
  },
  {
    feature: "customer_list",
    title: "Customer list",
    about: `The admin customer list: a view and a paged RPC filtered by a segment definition.`,
    objects: ["public.admin_customers", "public.list_customers"],
  },
  {
    feature: "templates",
    title: "Message templates",
    about: `Message templates per channel, the whitelist of variables and the content checks.`,
    objects: [
      "public.message_templates", "private.tg_message_templates__validate", "private.message_variables",
      "private.template_variables_used", "private.check_message_content",
      "private.messaging_rules", "public.messaging_rules", "private.is_blank", "public.check_message_content",
    ],
  },
  {
    feature: "campaigns",
    title: "Campaigns",
    about: `Campaigns, their frozen audiences and recipients, per-channel send logs, and the
campaign state machine.`,
    objects: [
      "public.campaigns", "public.campaign_audiences", "public.campaign_audience_members", "public.campaign_recipients",
      "public.sms_logs", "public.push_logs", "private.tg_campaigns__*",
      "private.set_campaign_state", "public.pause_campaign", "public.resume_campaign", "public.cancel_campaign",
      "private.recipient_fate", "private.audience_counts", "private.freeze_audience", "public.freeze_campaign_audience",
      "private.address_key", "private.check_campaign_content",
    ],
  },
  {
    feature: "push_tokens",
    title: "Push tokens",
    about: `Customers' Expo push tokens.`,
    objects: [
      "public.customer_push_tokens", "private.register_push_token", "public.register_push_token",
      "private.unregister_push_token", "public.unregister_push_token",
    ],
  },
  {
    feature: "messaging_queue",
    title: "Messaging queue",
    about: `Queueing bulk messages, the dispatcher's claim/complete protocol with leases, provider
rate buckets, and the dispatch settings.`,
    objects: [
      "public.messaging_settings", "private.tg_messaging_settings__validate", "private.dispatch_setting",
      "private.rate_buckets", "private.take_tokens", "private.enqueue_recipients", "private.close_finished_campaigns",
      "private.queue_campaign", "private.claim_recipients", "private.complete_recipients", "public.queue_bulk_message",
      "public.message_preview_context",
      "private.bulk_message_requests", "private.queue_campaign_once", "private.messaging_setting",
    ],
  },
  {
    feature: "delivery",
    title: "Delivery: local time, quiet hours, in-doubt sends, one-click unsubscribe",
    about: `When and whether a claimed message may leave: customers' time zones, campaign send
windows and local send times, SMS quiet hours, attempts recorded before the provider call and
in-doubt rows settled from provider evidence (or held for review), and signed one-click
unsubscribe links (RFC 8058).`,
    data: ["private.country_time_zones"],
    objects: [
      "private.country_time_zones", "private.is_time_zone", "private.tg_users__check_time_zone", "private.default_time_zone",
      "private.customer_time_zone", "private.parse_local_time", "private.next_local_time", "private.local_window_open",
      "private.next_send_opening", "private.channel_quiet_hours", "private.campaign_send_rules", "private.send_allowed",
      "private.set_campaign_local_time", "private.schedule_local_send", "private.return_tokens",
      "private.validate_delivery_setting", "private.mark_attempt_unknown", "private.complete_late",
      "private.in_doubt_lookups", "private.resolve_in_doubt", "private.release_held_recipients",
      "public.release_held_recipients", "private.unsubscribe_from_link", "private.unsubscribe_link_ttl_days",
    ],
  },
  {
    feature: "provider_events",
    title: "Provider events",
    about: `Delivery events from SendGrid, Twilio and Expo: ingestion, recipient status, provider
consent changes, suppressions, and campaign statistics.`,
    data: ["private.recipient_status_ranks", "private.provider_event_statuses"],
    objects: [
      "public.message_events", "public.suppressions", "private.provider_sync_state", "private.recipient_status_ranks",
      "private.provider_event_statuses", "private.apply_recipient_events", "private.apply_provider_consent",
      "private.ingest_*", "private.suppression_sync_since", "public.campaign_stats", "public.campaign_link_clicks",
    ],
  },
  {
    feature: "webhook_inbox",
    title: "Webhook inbox",
    about: `Provider webhooks stored verified and answered at once, applied by workers (two appliers,
each on its half of the customers); the opt-out fast path applied before the answer; machine opens
and bot clicks kept apart by settings; events rejected as inconsistent or ignored with a reason.`,
    data: ["public.engagement_settings"],
    objects: [
      "private.webhook_inbox", "public.engagement_settings", "private.engagement_setting",
      "private.tg_engagement_settings__validate", "private.tg_engagement_settings__refresh_facts",
      "public.message_event_rejections", "private.sendgrid_classify", "private.accept_webhook",
      "private.apply_sendgrid_contact_effects", "private.apply_sendgrid_contact_events", "private.apply_inbox_row",
      "private.apply_webhook_inbox", "private.webhook_apply_parts", "private.mark_inbox_applied",
      "private.apply_webhooks_job_command", "private.prune_webhook_inbox", "private.webhook_inbox_health",
      "public.webhook_inbox_health",
    ],
  },
  {
    feature: "consent_proofs",
    title: "Consent proofs",
    about: `Why a message was allowed: the consent proof of every recipient, the check that no
message went out without one, and the audited export.`,
    objects: [
      "private.recipient_proofs", "public.consent_proof", "public.check_consent_proofs",
    ],
  },
  {
    feature: "scores",
    title: "Scores",
    about: `Customer value and risk scores: settings, nightly scoring, history, staff risk
overrides with expiry, and the effective risk.`,
    data: ["public.scoring_settings"],
    objects: [
      "public.scoring_settings", "private.scoring_setting", "private.tg_scoring_settings__*", "public.customer_scores",
      "public.customer_score_history", "public.customer_risk_overrides",
      "private.tg_customer_risk_overrides__validate", "private.tg_customer_risk_overrides__revision",
      "private.tg_customer_risk_overrides__timeline",
      "private.effective_customer_scores", "private.effective_risk_score", "private.risk_level",
      "public.customer_effective_risk", "public.override_risk", "public.clear_risk_override",
      "private.expire_risk_overrides", "private.customer_score_inputs", "private.score_customers",
    ],
  },
  {
    feature: "alerts",
    title: "Alerts",
    about: `Alerts raised by scoring thresholds, their states, acknowledgement, and the nightly
scoring run that raises them.`,
    objects: [
      "public.alerts", "private.score_alert_states",
      "private.score_alert_metrics", "private.evaluate_score_alerts", "public.acknowledge_alert",
      "private.run_nightly_scoring",
    ],
  },
  {
    feature: "customer_summary",
    title: "Customer summary",
    about: `One call for the customer page: profile, facts, scores, balance and recent activity.`,
    objects: ["private.customer_overdue_balance", "private.customer_summary", "public.customer_summary"],
  },
  {
    feature: "data_subject_rights",
    title: "Data subject rights",
    about: `A person's data exported (admin, or the person) and erased: what each section holds,
scrubbing free text, suppressing erased addresses, and refusing consent for an erased person.`,
    objects: [
      "public.export_customer_data", "public.erase_customer", "private.erase_person", "private.erased_addresses",
      "private.address_hash", "private.audit_customer_export", "private.authorize_customer_export",
      "private.customer_data_section_names", "private.customer_data_sections", "private.scrub", "private.scrub_jsonb",
      "private.tg_users__suppress_erased", "private.tg_customer_consent__not_erased",
      "private.tg_auth_users__delete_crm_user",
    ],
    // auth.users is the Auth server's table (not dumped with public/private): its trigger is written here
    after: `create trigger _100_delete_crm_user before delete on auth.users
  for each row execute function private.tg_auth_users__delete_crm_user();`,
  },
  {
    feature: "cron_jobs",
    title: "Cron jobs",
    about: `Every pg_cron schedule of the project in one place, the jobs that call edge functions
(scheduled where pg_net and Vault exist), history pruning and the job health view.`,
    cron: true,
    objects: [
      "private.prune_cron_history", "private.cron_job_health", "public.cron_job_health", "private.schedule_provider_jobs",
      "private.provider_job_headers",
    ],
    after: `-- Where pg_net and the Vault secrets functions_url and service_role_key exist (Supabase), this
-- schedules crm_dispatch_messages and crm_sync_suppressions; elsewhere it does nothing.
select private.schedule_provider_jobs();`,
  },
];

// Entries of the dump that are the platform's, not the project's (Supabase or the local
// bootstrap creates them): never written to a schema file.
// The private schema is created in platform's \`before\` (its grants are still written).
export const ignore = ["schema:public", "schema:private"];
