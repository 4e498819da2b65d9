-- Consent proofs
--
-- Why a message was allowed: the consent proof of every recipient, the check that no
-- message went out without one, and the audited export.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.recipient_proofs(for_campaign uuid DEFAULT NULL::uuid, for_recipient uuid DEFAULT NULL::uuid) RETURNS TABLE(recipient_id uuid, campaign_id uuid, campaign_name text, purpose text, customer_id uuid, channel text, address text, status text, attempts integer, consent_checked_at timestamp with time zone, sent_at timestamp with time zone, provider_message_id text, consent_history_id bigint, consent_source text, consent_changed_at timestamp with time zone, consent_changed_by uuid, consent_granted boolean, consent_note text, override_audit_id bigint, consent_text_id bigint, wording_version integer, confirmation_id uuid, confirmation_requested_at timestamp with time zone, confirmation_requested_source text, confirmation_status text, confirmed_at timestamp with time zone, confirmed_via text, confirmed_ip text, confirmed_user_agent text, confirmed_link text, confirmed_message_sid text, consent_on_at_check boolean, suppressed_at_check boolean, problem text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform private.assert_staff('admin');
  return query
  select r.id, r.campaign_id, c.name, c.purpose, r.customer_id, r.channel, r.address,
         r.status, r.attempts, r.consent_checked_at, r.sent_at, r.provider_message_id,
         h.id, h.source, h.changed_at, h.changed_by,
         h.new_enabled, h.note, h.override_audit_id, h.consent_text_id, t.version,
         k.id, k.requested_at, k.requested_source, k.status,
         k.confirmed_at, k.confirmed_via, k.confirmed_ip, k.confirmed_user_agent, k.confirmed_link,
         k.confirmed_message_sid,
         case when c.purpose = 'consent_confirmation' then null else h.new_enabled and later.id is null end,
         sup.id is not null,
         case
           when not x.left_queue then null
           when sup.id is not null then 'the address was suppressed at the send-time check'
           when c.purpose = 'consent_confirmation' then
             case when k.id is null then 'a confirmation message without its double opt-in request' end
           when r.consent_history_id is null then 'no consent record: the send names no consent history row'
           when h.id is null then 'the named consent history row does not exist'
           when h.customer_id <> r.customer_id or h.channel <> r.channel then 'the named consent record belongs to another customer or channel'
           when not h.new_enabled then 'the named consent record is a revocation'
           when later.id is not null then 'consent was revoked after the named grant and before the send-time check'
           when h.confirmation_id is not null and k.status is distinct from 'confirmed' then 'the double opt-in behind the grant was not confirmed'
         end
    from public.campaign_recipients r
    join public.campaigns c on c.id = r.campaign_id
    cross join lateral (select r.attempts > 0 or r.sent_at is not null
                               or r.status in ('sending', 'sent', 'delivered', 'deferred', 'opened', 'clicked', 'bounced', 'dropped',
                                               'unsubscribed', 'spam_reported') as left_queue,
                               coalesce(r.consent_checked_at, r.sent_at, r.updated_at) as checked_at) x
    left join public.customer_consent_history h on h.id = r.consent_history_id and c.purpose <> 'consent_confirmation'
    left join public.consent_texts t on t.id = coalesce(h.consent_text_id,
                (select k2.consent_text_id from public.consent_confirmations k2 where k2.recipient_id = r.id))
    left join public.consent_confirmations k on k.id = coalesce(h.confirmation_id,
                (select k3.id from public.consent_confirmations k3 where k3.recipient_id = r.id and c.purpose = 'consent_confirmation'))
    left join lateral (
      select l.id from public.customer_consent_history l
       where h.id is not null and l.customer_id = r.customer_id and l.channel = r.channel
         and not l.new_enabled and l.id > h.id and l.changed_at <= x.checked_at
       limit 1) later on true
    left join lateral (
      select s.id from public.suppressions s
       where s.channel = r.channel and s.address_key = lower(r.address) and s.created_at <= x.checked_at
       limit 1) sup on r.address is not null
   where (recipient_proofs.for_campaign is null or r.campaign_id = recipient_proofs.for_campaign)
     and (recipient_proofs.for_recipient is null or r.id = recipient_proofs.for_recipient);
end
$$;

CREATE FUNCTION public.check_consent_proofs() RETURNS TABLE(recipient_id uuid, campaign_id uuid, customer_id uuid, channel text, status text, problem text)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  perform private.require_role('admin');
  return query
    select p.recipient_id, p.campaign_id, p.customer_id, p.channel, p.status, p.problem
      from private.recipient_proofs() p
     where p.problem is not null
     order by p.campaign_id, p.recipient_id;
end
$$;

CREATE FUNCTION public.consent_proof(recipient_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  p record;
  u public.users;
begin
  perform private.require_role('admin');
  perform private.require_argument('recipient_id', consent_proof.recipient_id);
  select * into p from private.recipient_proofs(null, consent_proof.recipient_id);
  if not found then
    raise exception using errcode = '22023', message = format('recipient_id: no message %s', consent_proof.recipient_id);
  end if;
  select * into u from public.users x where x.id = p.customer_id;
  return jsonb_build_object(
    'recipient_id', p.recipient_id,
    'valid', p.problem is null,
    'problem', p.problem,
    'campaign', jsonb_build_object('id', p.campaign_id, 'name', p.campaign_name, 'purpose', p.purpose),
    'customer', jsonb_build_object('id', p.customer_id, 'full_name', u.full_name),
    'channel', p.channel,
    'address', p.address,
    'status', p.status,
    'allowed_by', case
      when p.purpose = 'consent_confirmation' then jsonb_build_object(
        'kind', 'transactional: the double opt-in confirmation message itself (consent-exempt)',
        'confirmation_id', p.confirmation_id, 'requested_at', p.confirmation_requested_at,
        'requested_source', p.confirmation_requested_source, 'request_status', p.confirmation_status)
      when p.consent_history_id is null then null
      else jsonb_build_object(
        'consent_history_id', p.consent_history_id, 'granted', p.consent_granted, 'source', p.consent_source,
        'changed_at', p.consent_changed_at, 'changed_by', p.consent_changed_by, 'note', p.consent_note,
        'override_audit_id', p.override_audit_id,
        'wording', case when p.consent_text_id is null then null else
          (select jsonb_build_object('consent_text_id', t.id, 'version', t.version, 'wording', t.wording)
             from public.consent_texts t where t.id = p.consent_text_id) end,
        'double_opt_in', case when p.confirmation_id is null then null else jsonb_build_object(
          'confirmation_id', p.confirmation_id, 'requested_at', p.confirmation_requested_at,
          'requested_source', p.confirmation_requested_source, 'status', p.confirmation_status,
          'confirmed_at', p.confirmed_at, 'via', p.confirmed_via, 'ip', p.confirmed_ip,
          'user_agent', p.confirmed_user_agent, 'link', p.confirmed_link, 'message_sid', p.confirmed_message_sid) end)
    end,
    'at_send', jsonb_build_object(
      'checked_at', p.consent_checked_at, 'consent_on', p.consent_on_at_check, 'suppressed', p.suppressed_at_check,
      'attempts', p.attempts, 'sent_at', p.sent_at),
    'provider', jsonb_build_object('provider_message_id', p.provider_message_id),
    'events', coalesce((select jsonb_agg(jsonb_build_object('provider', e.provider, 'event', e.event, 'occurred_at', e.occurred_at,
                                                           'reason', e.reason, 'url', e.url, 'provider_event_id', e.provider_event_id)
                                        order by e.occurred_at, e.id)
                          from public.message_events e where e.recipient_id = p.recipient_id), '[]'::jsonb));
end
$$;

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant execute on function
  private.recipient_proofs(uuid,uuid),
  public.check_consent_proofs(),
  public.consent_proof(uuid)
to authenticated, service_role;

reset search_path;
reset check_function_bodies;
