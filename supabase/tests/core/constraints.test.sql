-- Bad input to tags, notes and consent: a clear SQLSTATE whose message names the field; nothing written.
begin;
select plan(22);

select tests.create_user('cons-admin@example.test', array['admin']) as admin_id \gset
select tests.create_user('cons-customer@example.test') as customer_id \gset
select tests.act_as(:'admin_id');

-- tags
select throws_ok($$insert into public.customer_tags (name, color) values ('Bad color', 'red')$$,
  '23514', null, 'a color that is not #RRGGBB is refused');
select throws_like($$insert into public.customer_tags (name, color) values ('Bad color', '#12345')$$,
  '%customer_tags_color_is_hex_rrggbb%', 'the message names the color constraint');
select throws_ok($$insert into public.customer_tags (name) values ('')$$, '23514', null, 'an empty tag name is refused');
select throws_ok($$insert into public.customer_tags (name) values ('   ')$$, '23514', null, 'a blank tag name is refused');
select throws_like($$insert into public.customer_tags (name) values (repeat('x', 65))$$,
  '%customer_tags_name_length_1_to_64%', 'a 65-character name is refused, naming the name constraint');
select lives_ok($$insert into public.customer_tags (name, color) values (repeat('y', 64), '#A1b2C3')$$,
  'a 64-character name and a mixed-case hex color are accepted');
select lives_ok($$insert into public.customer_tags (name) values ('Tromsø crew')$$, 'a unicode name is accepted');
select throws_ok($$insert into public.customer_tags (name) values ('TROMSØ CREW')$$, '23505', null,
  'tag names are unique case-insensitively, beyond ASCII');
select throws_ok($$insert into public.customer_tags (name) values (null)$$, '23502', null, 'a missing name is refused');

-- notes
select throws_ok(format($$insert into public.customer_notes (customer_id, note, type) values (%L, 'x', 'urgent')$$, :'customer_id'),
  '23514', null, 'an unknown note type is refused');
select throws_like(format($$insert into public.customer_notes (customer_id, note, type) values (%L, 'x', 'urgent')$$, :'customer_id'),
  '%customer_notes_type_is_info_warning_or_action%', 'the message names the type constraint');
select throws_like(format($$insert into public.customer_notes (customer_id, note, visibility) values (%L, 'x', 'public')$$, :'customer_id'),
  '%customer_notes_visibility_is_internal_or_shared%', 'an unknown visibility is refused, naming the visibility constraint');
select throws_like(format($$insert into public.customer_notes (customer_id, note) values (%L, repeat('n', 10001))$$, :'customer_id'),
  '%customer_notes_note_length_1_to_10000%', 'a note over 10,000 characters is refused');
select throws_ok(format($$insert into public.customer_notes (customer_id, note) values (%L, '')$$, :'customer_id'),
  '23514', null, 'an empty note is refused');
select lives_ok(format($$insert into public.customer_notes (customer_id, note) values (%L, repeat('n', 10000))$$, :'customer_id'),
  'a note of exactly 10,000 characters is accepted');
select throws_ok($$insert into public.customer_notes (customer_id, note) values ('00000000-0000-4000-8000-00000000dead', 'hi')$$,
  '23503', null, 'a note about a customer who does not exist is refused');
select is((select admin_id from public.customer_notes where customer_id = :'customer_id'), :'admin_id'::uuid,
  'admin_id defaults to the caller');

-- consent
select throws_like(format($$select public.set_customer_consent(%L, 'fax', true)$$, :'customer_id'),
  'channel: must be one of email, sms, push%', 'a channel other than email|sms|push is refused, naming channel');
select throws_ok(format($$select public.set_customer_consent(%L, 'fax', true)$$, :'customer_id'), '22023', null,
  'with SQLSTATE 22023');
select throws_ok($$select public.set_customer_consent('00000000-0000-4000-8000-00000000dead', 'email', true)$$,
  '22023', 'customer_id: customer 00000000-0000-4000-8000-00000000dead does not exist',
  'consent for a customer who does not exist is refused with 22023 (a 400 through PostgREST)');

select tests.act_as_postgres();
select is((select count(*) from public.customer_tags where name in ('Bad color', '', '   ')), 0::bigint, 'no refused tag was written');
select is((select count(*) from public.customer_consent c join public.users u on u.id = c.customer_id where u.email = 'cons-customer@example.test'),
  0::bigint, 'no refused consent was written');

select * from finish();
rollback;
