-- Message templates
--
-- Message templates per channel, the whitelist of variables and the content checks.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE public.message_templates (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    channel text NOT NULL,
    name text NOT NULL,
    subject text,
    body_text text NOT NULL,
    body_html text,
    variables text[] DEFAULT '{}'::text[] NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    created_by uuid DEFAULT auth.uid(),
    updated_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT message_templates_body_html_max_500000 CHECK ((char_length(body_html) <= 500000)),
    CONSTRAINT message_templates_body_text_max_100000 CHECK ((char_length(body_text) <= 100000)),
    CONSTRAINT message_templates_channel_is_email_sms_or_push CHECK ((channel = ANY (ARRAY['email'::text, 'sms'::text, 'push'::text]))),
    CONSTRAINT message_templates_name_length_1_to_120 CHECK (((char_length(btrim(name)) >= 1) AND (char_length(btrim(name)) <= 120))),
    CONSTRAINT message_templates_subject_max_300 CHECK ((char_length(subject) <= 300)),
    CONSTRAINT message_templates_pkey PRIMARY KEY (id),
    CONSTRAINT message_templates_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE SET NULL,
    CONSTRAINT message_templates_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES public.users(id) ON DELETE SET NULL
);

CREATE UNIQUE INDEX message_templates_channel_name_key ON public.message_templates USING btree (channel, lower(name));

CREATE INDEX message_templates_created_by_idx ON public.message_templates USING btree (created_by);

CREATE INDEX message_templates_updated_by_idx ON public.message_templates USING btree (updated_by);

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.check_message_content(channel text, subject text, body_text text, body_html text, declared text[]) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
declare
  field text;
  body text;
  v text;
  allowed text[] := private.message_variables();
  rules jsonb := private.messaging_rules() -> 'content' -> check_message_content.channel;
  rule jsonb;
begin
  foreach v in array coalesce(check_message_content.declared, '{}') loop
    if not v = any(allowed) then
      raise exception using errcode = '22023',
        message = format('variables: %s is not a known variable; use %s', quote_literal(v), array_to_string(allowed, ', '));
    end if;
  end loop;
  for field, body in values ('subject', check_message_content.subject), ('body_text', check_message_content.body_text),
                            ('body_html', check_message_content.body_html) loop
    foreach v in array private.template_variables_used(body) loop
      if not v = any(allowed) then
        raise exception using errcode = '22023',
          message = format('%s: unknown variable {{%s}}; use %s', field, v, array_to_string(allowed, ', '));
      end if;
      if check_message_content.declared is not null and not v = any(check_message_content.declared) then
        raise exception using errcode = '22023',
          message = format('%s: uses {{%s}}, which is not declared in variables', field, v);
      end if;
    end loop;
  end loop;
  if rules is null then
    return; -- not a channel: the table's check constraint (23514) or the caller names it
  end if;
  if check_message_content.channel = 'email' and private.is_blank(check_message_content.subject) then
    raise exception using errcode = '22023', message = 'subject: an email needs a subject';
  end if;
  if private.is_blank(check_message_content.body_text) then
    raise exception using errcode = '22023', message = 'body_text: must not be empty';
  end if;
  if check_message_content.channel <> 'email' and check_message_content.body_html is not null then
    raise exception using errcode = '22023', message = format('body_html: only email has an HTML body, not %s', check_message_content.channel);
  end if;
  if check_message_content.channel <> 'email' and check_message_content.subject is not null then
    raise exception using errcode = '22023', message = format('subject: only email has a subject, not %s', check_message_content.channel);
  end if;
  for field, body, rule in values ('subject', check_message_content.subject, rules -> 'subject'),
                                  ('body_text', check_message_content.body_text, rules -> 'text'),
                                  ('body_html', check_message_content.body_html, rules -> 'html') loop
    if rule is not null and char_length(body) > (rule ->> 'max_chars')::integer then
      raise exception using errcode = '22023',
        message = format('%s: %s is at most %s characters', field,
                         case field when 'subject' then 'an email subject' when 'body_html' then 'an email HTML body'
                           else case check_message_content.channel when 'email' then 'an email text' when 'sms' then 'an SMS'
                                  else 'a push text' end end,
                         rule ->> 'max_chars');
    end if;
  end loop;
end
$$;

CREATE FUNCTION private.is_blank(value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select coalesce(btrim(is_blank.value, private.messaging_rules() ->> 'blank_characters'), '') = ''
$$;

CREATE FUNCTION private.message_variables() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select array['first_name', 'full_name', 'city', 'region', 'email', 'unsubscribe_url', 'preferences_url']
$$;

CREATE FUNCTION private.messaging_rules() RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select jsonb_build_object(
    'channels', jsonb_build_array('email', 'sms', 'push'),
    'variables', to_jsonb(private.message_variables()),
    -- what "blank" means, for SQL (btrim with these) and TypeScript (String.prototype.trim)
    'blank_characters', chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(32) || chr(160) || chr(5760)
                        || chr(8192) || chr(8193) || chr(8194) || chr(8195) || chr(8196) || chr(8197) || chr(8198)
                        || chr(8199) || chr(8200) || chr(8201) || chr(8202) || chr(8232) || chr(8233) || chr(8239)
                        || chr(8287) || chr(12288) || chr(65279),
    'request', jsonb_build_object(
      'name', jsonb_build_object('required', true, 'max_chars', 200),
      'customer_ids', jsonb_build_object('min_items', 1, 'max_items', 100000),
      'throttle_per_minute', jsonb_build_object('min', 1, 'max', 100000),
      'idempotency_key', jsonb_build_object('max_chars', 255)),
    -- per channel, the content fields it takes; max_chars counts characters as stored (untrimmed)
    'content', jsonb_build_object(
      'email', jsonb_build_object(
        'subject', jsonb_build_object('required', true, 'max_chars', 300),
        'text', jsonb_build_object('required', true, 'max_chars', 100000),
        'html', jsonb_build_object('required', false, 'max_chars', 500000)),
      'sms', jsonb_build_object(
        'text', jsonb_build_object('required', true, 'max_chars', 1600)),
      'push', jsonb_build_object(
        'title', jsonb_build_object('required', false, 'max_chars', 200),
        'text', jsonb_build_object('required', true, 'max_chars', 4000))))
$$;

COMMENT ON FUNCTION private.messaging_rules() IS 'The limits of message requests and templates, enforced here and read by the edge functions (generated constants).';

CREATE FUNCTION private.template_variables_used(body text) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select coalesce(array_agg(v order by first_pos), '{}')
    from (select m[1] as v, min(ord) as first_pos
            from regexp_matches(coalesce(template_variables_used.body, ''), '\{\{\s*([^{}]*?)\s*\}\}', 'g') with ordinality as t(m, ord)
           group by m[1]) used
$$;

CREATE FUNCTION private.tg_message_templates__validate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform private.check_message_content(new.channel, new.subject, new.body_text, new.body_html, new.variables);
  if tg_op = 'UPDATE' then
    if (new.subject, new.body_text, new.body_html, new.variables, new.channel)
       is distinct from (old.subject, old.body_text, old.body_html, old.variables, old.channel) then
      new.version := old.version + 1;
    else
      new.version := old.version;
    end if;
    new.updated_at := now();
  else
    new.version := 1;
  end if;
  new.updated_by := auth.uid();
  return new;
end
$$;

CREATE FUNCTION public.check_message_content(channel text, content jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
begin
  perform private.check_campaign_content(check_message_content.channel, check_message_content.content);
  return jsonb_build_object('ok', true);
end
$$;

COMMENT ON FUNCTION public.check_message_content(channel text, content jsonb) IS 'Validates ad-hoc message content for a channel as queue_bulk_message does; 22023 naming content.<field>.';

CREATE FUNCTION public.messaging_rules() RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  select private.messaging_rules()
$$;

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _010_validate BEFORE INSERT OR UPDATE ON public.message_templates FOR EACH ROW EXECUTE FUNCTION private.tg_message_templates__validate();

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON public.message_templates FOR EACH ROW EXECUTE FUNCTION private.tg_audit('id');

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

call private.staff_access('public.message_templates', read_by => 'admin', write_by => 'communicator');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select, insert, update, delete on table public.message_templates to service_role;
grant execute on function
  private.check_message_content(text,text,text,text,text[]),
  private.is_blank(text),
  private.message_variables(),
  private.messaging_rules(),
  private.template_variables_used(text),
  public.check_message_content(text,jsonb),
  public.messaging_rules()
to authenticated, service_role;

reset search_path;
reset check_function_bodies;
