-- Quiet hours and send windows in the recipient's local time: time zones (explicit, by country or
-- region, the default), openings on both sides of the date line and across DST changes, the
-- bulk-message fields and their refusals, and the claim deferring rows to their next opening.
begin;
select plan(35);

select tests.create_user('qh-comms@example.test', array['admin', 'communications']) as comms_id \gset
select tests.create_user('qh-a@example.test') as a_id \gset

-- time zones
select throws_ok(format($$update public.users set time_zone = 'Mars/Olympus' where id = %L$$, :'a_id'), '22023',
  'time_zone: Mars/Olympus is not an IANA time zone (e.g. "Europe/Oslo", "Pacific/Auckland")', 'a zone that does not exist is refused');
select throws_ok(format($$update public.users set time_zone = '+03' where id = %L$$, :'a_id'), '22023', null, 'an offset is not a zone');
select lives_ok(format($$update public.users set time_zone = 'Pacific/Auckland' where id = %L$$, :'a_id'), 'an IANA zone is accepted');
select is(private.customer_time_zone('Asia/Tokyo', 'NO', null), 'Asia/Tokyo', 'the customer''s own zone wins');
select is(private.customer_time_zone(null, 'NO', 'Troms'), 'Europe/Oslo', 'one zone fits Norway');
select is(private.customer_time_zone(null, 'US', 'Hawaii'), 'Pacific/Honolulu', 'a region decides in a country of several zones');
select is(private.customer_time_zone(null, 'US', 'Texas'), 'Europe/Oslo', 'else the default_time_zone setting (default Europe/Oslo)');
insert into public.messaging_settings (key, value) values ('default_time_zone', '"America/Chicago"');
select is(private.customer_time_zone(null, 'US', null), 'America/Chicago', 'which is a setting');
select throws_ok($$update public.messaging_settings set value = '"Atlantis/Capital"' where key = 'default_time_zone'$$, '22023', null,
  'the default must be a real zone');

-- openings at 2026-12-03 12:00Z, window 09:00-20:00, four zones either side of the date line; SMS
-- quiet hours 21:00-08:00 combined with a window; DST: New York falls back on 2026-11-01, Oslo
-- springs forward on 2026-03-29
select is(private.next_send_opening(c ->> 'zone', (c ->> 'at')::timestamptz,
                                    nullif(split_part(c ->> 'window', '-', 1), '')::time, nullif(split_part(c ->> 'window', '-', 2), '')::time,
                                    nullif(split_part(c ->> 'quiet', '-', 1), '')::time, nullif(split_part(c ->> 'quiet', '-', 2), '')::time),
          (c ->> 'opening')::timestamptz, c ->> 'description')
  from tests.cases($$
  zone                | at                | window      | quiet       | opening           | description
  Europe/Oslo         | 2026-12-03 12:00Z | 09:00-20:00 |             | 2026-12-03 12:00Z | Oslo (13:00): open now
  Pacific/Kiritimati  | 2026-12-03 12:00Z | 09:00-20:00 |             | 2026-12-03 19:00Z | Kiritimati UTC+14 (02:00 on the 4th): 09:00 on the 4th
  Pacific/Auckland    | 2026-12-03 12:00Z | 09:00-20:00 |             | 2026-12-03 20:00Z | Auckland NZDT (01:00 on the 4th): 09:00 on the 4th
  America/Los_Angeles | 2026-12-03 12:00Z | 09:00-20:00 |             | 2026-12-03 17:00Z | Los Angeles (04:00 on the 3rd): 09:00 on the 3rd
  Pacific/Pago_Pago   | 2026-12-03 12:00Z | 09:00-20:00 |             | 2026-12-03 20:00Z | Pago Pago UTC-11 (01:00 on the 3rd): 09:00 on the 3rd
  Pacific/Auckland    | 2026-12-03 08:00Z | 09:00-20:00 |             | 2026-12-03 20:00Z | Auckland at 21:00: the window has closed, tomorrow 09:00
  Europe/Oslo         | 2026-12-03 21:30Z |             | 21:00-08:00 | 2026-12-04 07:00Z | quiet hours: 22:30 in Oslo waits for 08:00
  Europe/Oslo         | 2026-12-03 05:00Z | 07:00-10:00 | 21:00-08:00 | 2026-12-03 07:00Z | window 07:00-10:00 inside quiet hours until 08:00: opens at 08:00
  America/New_York    | 2026-10-31 12:00Z | 09:00-20:00 |             | 2026-10-31 13:00Z | New York before the change: 09:00 EDT is 13:00Z
  America/New_York    | 2026-11-01 12:00Z | 09:00-20:00 |             | 2026-11-01 14:00Z | New York after the change: 09:00 EST is 14:00Z
  Europe/Oslo         | 2026-03-28 05:00Z |             | 21:00-08:00 | 2026-03-28 07:00Z | Oslo before spring forward: quiet hours end at 08:00 CET = 07:00Z
  Europe/Oslo         | 2026-03-29 05:00Z |             | 21:00-08:00 | 2026-03-29 06:00Z | Oslo on the change day: 08:00 CEST = 06:00Z
$$) c;

select ok(private.local_window_open('23:30', '22:00', '02:00') and private.local_window_open('01:59', '22:00', '02:00')
          and not private.local_window_open('02:00', '22:00', '02:00'), 'a window may cross midnight; its end is exclusive');
select is(private.next_local_time('Europe/Oslo', '2026-03-29 00:00Z', '02:30'), '2026-03-29 01:30Z'::timestamptz,
  'a local time skipped by spring forward is read as the instant after the gap (03:30 CEST)');
select is(private.next_local_time('Pacific/Auckland', '2026-12-03 12:00Z', '10:00'), '2026-12-03 21:00Z'::timestamptz,
  'local send time 10:00 in Auckland is 21:00Z the day before in UTC');

-- bulk-message fields
select tests.act_as(:'comms_id');
create temporary table req as select jsonb_build_object('name', 'Local', 'channel', 'sms', 'content', '{"text":"hi"}'::jsonb,
  'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'a_id'))) as r;
grant select on req to public;
select throws_ok($$select public.queue_bulk_message((select r from req) || '{"send_window":{"start":"09:00","end":"09:00"}}')$$, '22023',
  'send_window: start and end are both 09:00: a window must be longer than 0 and shorter than 24 hours (omit it to send any time)',
  'a window with start = end is refused');
select throws_ok($$select public.queue_bulk_message((select r from req) || '{"send_window":{"start":"09:00","end":"33:00"}}')$$, '22023',
  'send_window.end: must be a local time HH:MM from 00:00 to 24:00 (a window is at most 24 hours)', 'a window longer than 24 hours is refused');
select throws_ok($$select public.queue_bulk_message((select r from req) || '{"send_window":{"start":"22:00","end":"23:00"}}')$$, '22023',
  'send_window: 22:00-23:00 lies inside the sms quiet hours 21:00-08:00 and would never open', 'an SMS window inside quiet hours is refused');
select throws_ok($$select public.queue_bulk_message((select r from req) || '{"local_send_time":"10"}')$$, '22023',
  'local_send_time: must be a local time HH:MM from 00:00 to 23:59', 'a malformed local send time is refused');
select throws_ok($$select public.queue_bulk_message((select r from req) || '{"quiet_hours_override":{"reason":"x"}}')$$, '22023', null,
  'an override without a real reason is refused');
select public.queue_bulk_message((select r from req) || '{"name":"Override","quiet_hours_override":{"reason":"Storm warning: pick-ups cancelled tonight"}}') ->> 'campaign_id' as ov_id \gset
select tests.act_as_postgres();
select is((select count(*) from public.audit_log where action = 'quiet_hours_override' and entity_id = :'ov_id'
             and after ->> 'reason' = 'Storm warning: pick-ups cancelled tonight' and actor_id = :'comms_id'), 1::bigint,
  'an override is audited with its reason and who gave it');
select is((select r.quiet_start from private.campaign_send_rules(:'ov_id') r), null::time, 'and the campaign ignores quiet hours');

-- local send time: each recipient waits for 10:00 in their own zone
select tests.create_user('qh-b@example.test') as b_id \gset
update public.users set time_zone = 'America/Los_Angeles' where id = :'b_id';
select public.set_customer_consent(id, 'email', true, 'signup') from public.users where id in (:'a_id', :'b_id');
select tests.act_as(:'comms_id');
select public.queue_bulk_message(jsonb_build_object('name', 'Ten', 'channel', 'email', 'content', '{"subject":"s","text":"t"}'::jsonb,
  'local_send_time', '10:00', 'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'a_id', :'b_id')))) ->> 'campaign_id' as ten_id \gset
select tests.act_as_postgres();
select ok((select bool_and(to_char(next_attempt_at at time zone case customer_id when :'a_id' then 'Pacific/Auckland' else 'America/Los_Angeles' end, 'HH24:MI') = '10:00'
                           and next_attempt_at > now() and next_attempt_at <= now() + interval '1 day')
             from public.campaign_recipients where campaign_id = :'ten_id'),
  'Auckland and Los Angeles recipients each wait for their next 10:00');

-- the claim: SMS quiet hours hold a recipient for whom it is night now, not one for whom it is day
select tests.create_user('qh-night@example.test', '{}', null, null, '+4790000001') as night_id \gset
select tests.create_user('qh-day@example.test', '{}', null, null, '+4790000002') as day_id \gset
update public.users set time_zone = (select name from pg_timezone_names where name ~ '^Etc/GMT[+-][0-9]+$'
                                      and extract(hour from now() at time zone name) between 1 and 4 order by name limit 1) where id = :'night_id';
update public.users set time_zone = (select name from pg_timezone_names where name ~ '^Etc/GMT[+-][0-9]+$'
                                      and extract(hour from now() at time zone name) between 11 and 14 order by name limit 1) where id = :'day_id';
select public.set_customer_consent(id, 'sms', true, 'signup') from public.users where id in (:'night_id', :'day_id');
update public.campaigns set status = 'cancelled' where status in ('sending', 'scheduled') and channel = 'sms';
select tests.act_as(:'comms_id');
select public.queue_bulk_message(jsonb_build_object('name', 'Night and day', 'channel', 'sms', 'content', '{"text":"hi"}'::jsonb,
  'audience', jsonb_build_object('customer_ids', jsonb_build_array(:'night_id', :'day_id')))) ->> 'campaign_id' as nd_id \gset
select tests.act_as_service();
select results_eq(format($$select customer_id from private.claim_recipients('qh-w', 'sms', 10, 60) where campaign_id = %L$$, :'nd_id'),
  format($$values (%L::uuid)$$, :'day_id'), 'only the customer for whom it is day is claimed');
select tests.act_as_postgres();
-- a retry that falls due in the quiet hours is deferred again by the claim, to 08:00 local
update public.campaign_recipients set next_attempt_at = now() - interval '1 second' where campaign_id = :'nd_id' and customer_id = :'night_id';
select tests.act_as_service();
select is((select count(*) from private.claim_recipients('qh-w', 'sms', 10, 60)), 0::bigint, 'a row due in quiet hours is not claimed');
select tests.act_as_postgres();
select ok((select status = 'queued' and next_attempt_at > now() and next_attempt_at < now() + interval '8 hours'
                  and to_char(next_attempt_at at time zone (select time_zone from public.users where id = :'night_id'), 'HH24:MI') = '08:00'
             from public.campaign_recipients where campaign_id = :'nd_id' and customer_id = :'night_id'),
  'it waits with next_attempt_at at 08:00 in the recipient''s zone');

select * from finish();
rollback;
