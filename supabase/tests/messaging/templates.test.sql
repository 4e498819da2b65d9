-- Templates: variables come from a whitelist and must be declared; refused when saved, with the field named.
begin;
select plan(11);
select tests.create_user('t-comms@example.test', array['admin', 'communications']) as comms_id \gset
select tests.act_as(:'comms_id');

select throws_ok($$insert into public.message_templates (channel, name, subject, body_text, variables) values ('email', 'a', 'Hi', 'Code {{coupon}}', '{}')$$,
  '22023', 'body_text: unknown variable {{coupon}}; use first_name, full_name, city, region, email, unsubscribe_url, preferences_url',
  'an unknown variable in the body is refused, naming the field and the variable');
select throws_ok($$insert into public.message_templates (channel, name, subject, body_text, variables) values ('email', 'a', 'Hi {{ nickname }}', 'x', '{}')$$,
  '22023', 'subject: unknown variable {{nickname}}; use first_name, full_name, city, region, email, unsubscribe_url, preferences_url',
  'an unknown variable in the subject is refused');
select throws_ok($$insert into public.message_templates (channel, name, subject, body_text, variables) values ('email', 'a', 'Hi', 'In {{city}}', '{first_name}')$$,
  '22023', 'body_text: uses {{city}}, which is not declared in variables', 'a used variable must be declared');
select throws_ok($$insert into public.message_templates (channel, name, subject, body_text, variables) values ('email', 'a', 'Hi', 'x', '{password}')$$,
  '22023', null, 'a declared variable must be known');
select throws_ok($$insert into public.message_templates (channel, name, body_text) values ('email', 'a', 'x')$$,
  '22023', 'subject: an email needs a subject', 'an email template needs a subject');
select throws_ok($$insert into public.message_templates (channel, name, body_text, body_html) values ('sms', 'a', 'x', '<b>x</b>')$$,
  '22023', 'body_html: only email has an HTML body, not sms', 'an SMS has no HTML body');
select throws_ok($$insert into public.message_templates (channel, name, body_text) values ('sms', 'a', repeat('x', 1601))$$,
  '22023', 'body_text: an SMS is at most 1600 characters', 'an SMS is at most 1600 characters');

insert into public.message_templates (id, channel, name, subject, body_text, body_html, variables)
values ('30000000-0000-4000-8000-000000000002', 'email', 'News', 'News for {{first_name}}', 'Hi {{full_name}}', '<p>{{full_name}}</p>', '{first_name,full_name}');
select is((select version from public.message_templates where id = '30000000-0000-4000-8000-000000000002'), 1, 'a new template is version 1');
update public.message_templates set name = 'News (renamed)' where id = '30000000-0000-4000-8000-000000000002';
select is((select version from public.message_templates where id = '30000000-0000-4000-8000-000000000002'), 1, 'renaming keeps the version');
update public.message_templates set body_text = 'Hello {{full_name}}' where id = '30000000-0000-4000-8000-000000000002';
select is((select version from public.message_templates where id = '30000000-0000-4000-8000-000000000002'), 2, 'changing content bumps the version');
select throws_ok($$update public.message_templates set body_text = 'Hello {{iban}}' where id = '30000000-0000-4000-8000-000000000002'$$,
  '22023', null, 'an update that adds an unknown variable is refused');

select * from finish();
rollback;
