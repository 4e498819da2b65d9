-- The RPC enforces every limit of private.messaging_rules() itself (issue 13: a 5,000-character
-- subject and a 200,000-character email body used to pass queue_bulk_message), templates obey
-- the same channel limits, and every channel list in the schema is the rules' list.
begin;
select plan(13);

select tests.create_user('re-comms@example.test', array['admin', 'communications']) as comms_id \gset
select tests.create_user('re-cust@example.test') as cust_id \gset
create temporary table base as
select jsonb_build_object('name', 'Rules', 'channel', 'email', 'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'cust_id'))) as r;
grant select on base to public;

select tests.act_as(:'comms_id');
select throws_ok($$select public.queue_bulk_message((select r || jsonb_build_object('content', jsonb_build_object('subject', repeat('s', 5000), 'text', 'x')) from base))$$,
  '22023', 'content.subject: an email subject is at most 300 characters', 'a 5,000-character subject is refused by the RPC');
select throws_ok($$select public.queue_bulk_message((select r || jsonb_build_object('content', jsonb_build_object('subject', 's', 'text', repeat('t', 200000))) from base))$$,
  '22023', 'content.text: an email text is at most 100000 characters', 'a 200,000-character email body is refused by the RPC');
select throws_ok($$select public.queue_bulk_message((select r || jsonb_build_object('content', jsonb_build_object('subject', 's', 'text', 'x', 'html', repeat('h', 500001))) from base))$$,
  '22023', 'content.html: an email HTML body is at most 500000 characters', 'an HTML body past its limit');
select throws_ok($$select public.queue_bulk_message((select r || '{"channel":"push"}' || jsonb_build_object('content', jsonb_build_object('title', repeat('t', 201), 'text', 'x')) from base))$$,
  '22023', 'content.title: a push title is at most 200 characters', 'a push title past its limit');
select throws_ok($$select public.queue_bulk_message((select r || '{"channel":"push"}' || jsonb_build_object('content', jsonb_build_object('text', repeat('t', 4001))) from base))$$,
  '22023', 'content.text: a push text is at most 4000 characters', 'a push text past its limit');
select throws_ok($$select public.queue_bulk_message((select r || jsonb_build_object('content', jsonb_build_object('subject', e'\n\t', 'text', 'x')) from base))$$,
  '22023', 'content.subject: an email needs a subject', 'a subject of whitespace is blank');
select throws_ok($$select public.queue_bulk_message((select r || jsonb_build_object('name', repeat('n', 201), 'content', '{"subject":"s","text":"x"}'::jsonb) from base))$$,
  '22023', 'name: must be 1 to 200 characters', 'a name past its limit');
select lives_ok($$select public.queue_bulk_message((select r || jsonb_build_object('name', repeat('n', 200), 'content', jsonb_build_object('subject', repeat('s', 300), 'text', repeat('t', 100000), 'html', repeat('h', 500000))) from base))$$,
  'everything at its limit is accepted');

-- templates: the same channel limits
select throws_ok($$insert into public.message_templates (channel, name, body_text) values ('push', 'Long push', repeat('p', 4001))$$,
  '22023', 'body_text: a push text is at most 4000 characters', 'a push template past the push limit');
select throws_ok($$insert into public.message_templates (channel, name, subject, body_text) values ('sms', 'Sms subject', 's', 'x')$$,
  '22023', 'subject: only email has a subject, not sms', 'an SMS template with a subject');
select tests.act_as_postgres();

-- every channel column allows exactly the rules' channels; consent_confirmations is the one
-- deliberate subset (double opt-in exists for email and SMS only, never push) and must stay a subset
select cmp_ok((select count(*)::int from pg_constraint c where c.contype = 'c' and c.connamespace = 'public'::regnamespace
                 and (c.conname like '%channel%' or c.conname like '%contact_method%')), '>=', 5, 'the channel constraints are found');
select is_empty($$
  select c.conrelid::regclass, pg_get_constraintdef(c.oid)
    from pg_constraint c
   where c.contype = 'c' and c.connamespace = 'public'::regnamespace
     and (c.conname like '%channel%' or c.conname like '%contact_method%')
     and case when c.conrelid = 'public.consent_confirmations'::regclass
         then not array(select m[1] from regexp_matches(pg_get_constraintdef(c.oid), '''([^'']+)''::text', 'g') m)
                  <@ array(select jsonb_array_elements_text(private.messaging_rules() -> 'channels'))
         else array(select m[1] from regexp_matches(pg_get_constraintdef(c.oid), '''([^'']+)''::text', 'g') m)
                  is distinct from array(select jsonb_array_elements_text(private.messaging_rules() -> 'channels')) end$$,
  'every channel check constraint lists the rules'' channels, in order');
select is(private.message_variables(), array(select jsonb_array_elements_text(private.messaging_rules() -> 'variables')),
  'the rules carry the template variables');

select * from finish();
rollback;
