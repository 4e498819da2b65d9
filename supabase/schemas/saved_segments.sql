-- Saved segments
--
-- Saved segments, their refreshed members, nightly auto-refresh, and where campaigns use them.
--
-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md).

set check_function_bodies = false; -- bodies may name objects of later features
set search_path = '';              -- every name below is schema-qualified

-- ------------------------------------------------------------------------------------------------
-- Tables, constraints and indexes
-- ------------------------------------------------------------------------------------------------

CREATE TABLE public.customer_segment_members (
    segment_id uuid NOT NULL,
    customer_id uuid NOT NULL,
    entered_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT customer_segment_members_pkey PRIMARY KEY (segment_id, customer_id),
    CONSTRAINT customer_segment_members_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.users(id) ON DELETE CASCADE
);

COMMENT ON TABLE public.customer_segment_members IS 'Who is in each saved segment as of its last refresh_segment; entries and exits are segment timeline events.';

CREATE TABLE public.customer_segments (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    description text,
    definition jsonb NOT NULL,
    created_by uuid DEFAULT auth.uid(),
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    auto_refresh boolean DEFAULT false NOT NULL,
    last_count integer,
    last_refreshed_at timestamp with time zone,
    updated_by uuid,
    CONSTRAINT customer_segments_description_max_2000 CHECK ((char_length(description) <= 2000)),
    CONSTRAINT customer_segments_name_length_1_to_120 CHECK (((char_length(btrim(name)) >= 1) AND (char_length(btrim(name)) <= 120))),
    CONSTRAINT customer_segments_pkey PRIMARY KEY (id),
    CONSTRAINT customer_segments_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE SET NULL,
    CONSTRAINT customer_segments_updated_by_fkey FOREIGN KEY (updated_by) REFERENCES public.users(id) ON DELETE SET NULL
);

COMMENT ON COLUMN public.customer_segments.version IS 'Revision of the saved segment: 1 when created, +1 on every change of its definition.';

CREATE INDEX customer_segment_members_customer_id_idx ON public.customer_segment_members USING btree (customer_id);

CREATE INDEX customer_segments_auto_refresh_idx ON public.customer_segments USING btree (id) WHERE auto_refresh;

CREATE INDEX customer_segments_created_by_idx ON public.customer_segments USING btree (created_by);

CREATE UNIQUE INDEX customer_segments_name_key ON public.customer_segments USING btree (lower(name));

CREATE INDEX customer_segments_updated_by_idx ON public.customer_segments USING btree (updated_by);

ALTER TABLE ONLY public.customer_segment_members
    ADD CONSTRAINT customer_segment_members_segment_id_fkey FOREIGN KEY (segment_id) REFERENCES public.customer_segments(id) ON DELETE CASCADE;

-- ------------------------------------------------------------------------------------------------
-- Functions and views
-- ------------------------------------------------------------------------------------------------

CREATE FUNCTION private.apply_segment_refresh(segment_id uuid) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  seg public.customer_segments;
  target uuid[];
  entering_ids uuid[];
  leaving_ids uuid[];
  entered integer;
  exited integer;
  total integer;
  refreshed_at timestamptz := clock_timestamp();
begin
  if auth.uid() is not null and not private.has_role('admin') then
    raise exception using errcode = '42501', message = 'permission denied: the admin role is required';
  end if;
  -- One refresh per segment at a time.
  select * into seg from public.customer_segments s where s.id = apply_segment_refresh.segment_id for update;
  if not found then
    raise sqlstate 'PT404' using detail = 'no_data_found (P0002)', message = format('segment_id: no segment %s', apply_segment_refresh.segment_id);
  end if;

  select coalesce(array_agg(m), '{}'::uuid[]) into target from private.segment_member_ids(seg.definition) m;

  -- The difference, computed once each way (hash set operations), then applied by key.
  select coalesce(array_agg(d.customer_id), '{}'::uuid[]) into entering_ids
    from (select unnest(target) as customer_id
          except
          select m.customer_id from public.customer_segment_members m where m.segment_id = seg.id) d;
  select coalesce(array_agg(d.customer_id), '{}'::uuid[]) into leaving_ids
    from (select m.customer_id from public.customer_segment_members m where m.segment_id = seg.id
          except
          select unnest(target)) d;

  insert into public.customer_segment_members (segment_id, customer_id, entered_at)
  select seg.id, e.customer_id, refreshed_at from unnest(entering_ids) e(customer_id);
  delete from public.customer_segment_members m
   where m.segment_id = seg.id and m.customer_id = any (leaving_ids);

  perform private.record_timeline_event(
            x.customer_id, 'segment', 'customer_segment_members', seg.id,
            format('%s:%s@%s', x.change, x.customer_id, to_char(refreshed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
            refreshed_at,
            case x.change when 'entered' then format('Entered segment %s', seg.name) else format('Left segment %s', seg.name) end,
            jsonb_build_object('segment_id', seg.id, 'segment_name', seg.name, 'change', x.change, 'segment_version', seg.version))
     from (select e.customer_id, 'entered' as change from unnest(entering_ids) e(customer_id)
           union all
           select l.customer_id, 'exited' from unnest(leaving_ids) l(customer_id)) x;
  entered := cardinality(entering_ids);
  exited := cardinality(leaving_ids);

  total := cardinality(target);
  -- Stats only: the validate trigger leaves version alone when the definition is unchanged.
  update public.customer_segments s
     set last_count = total, last_refreshed_at = refreshed_at
   where s.id = seg.id;

  return jsonb_build_object('segment_id', seg.id, 'count', total, 'entered', entered, 'exited', exited,
                            'refreshed_at', refreshed_at);
end
$$;

CREATE FUNCTION private.refresh_auto_segments() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  seg record;
  refreshed integer := 0;
  ids uuid[];
begin
  -- Everyone with engagement now or in the facts: the 90-day window moved, and events recorded
  -- without a refresh are caught here.
  select array_agg(x.customer_id) into ids from (
    select e.customer_id from private.customer_engagement(null) e
    union
    select f.customer_id from public.customer_facts f where f.engaged_campaigns_90d > 0 or f.last_engaged_at is not null
  ) x;
  if ids is not null then
    perform private.refresh_facts('engagement', ids);
  end if;
  for seg in select s.id from public.customer_segments s where s.auto_refresh order by s.id loop
    begin
      perform private.apply_segment_refresh(seg.id);
      refreshed := refreshed + 1;
    exception when others then
      raise warning 'crm_refresh_segments: segment % failed: % (%)', seg.id, sqlerrm, sqlstate;
      perform private.write_audit('refresh_failed', 'customer_segments', seg.id::text, null, null,
                                  jsonb_build_object('sqlstate', sqlstate, 'message', sqlerrm));
    end;
  end loop;
  return refreshed;
end
$$;

CREATE FUNCTION private.segment_campaign_usage() RETURNS TABLE(segment_id uuid, campaign_id uuid, campaign_name text, used_at timestamp with time zone)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if to_regclass('public.campaigns') is null then
    return;
  end if;
  return query
  select c.segment_id, c.id, c.name, coalesce(c.started_at, c.created_at)
    from public.campaigns c
   where c.segment_id is not null;
end
$$;

CREATE FUNCTION private.tg_customer_segments__validate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform private.assert_valid_segment(new.definition, 'definition');
  if tg_op = 'INSERT' then
    new.version := 1;
    new.created_by := coalesce(new.created_by, auth.uid());
    new.last_count := null;
    new.last_refreshed_at := null;
    new.updated_by := coalesce(auth.uid(), new.updated_by);
  else
    new.version := old.version + case when new.definition is distinct from old.definition then 1 else 0 end;
    new.created_by := old.created_by;
    new.created_at := old.created_at;
    if (new.name, new.description, new.definition, new.auto_refresh)
       is not distinct from (old.name, old.description, old.definition, old.auto_refresh) then
      -- only refresh stats changed: not an edit
      new.updated_by := old.updated_by;
      new.updated_at := old.updated_at;
    else
      new.updated_by := coalesce(auth.uid(), new.updated_by);
    end if;
  end if;
  return new;
end
$$;

CREATE FUNCTION public.duplicate_segment(segment_id uuid, name text DEFAULT NULL::text) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  source public.customer_segments;
  new_name text := nullif(btrim(duplicate_segment.name), '');
  n integer := 1;
  new_id uuid;
begin
  perform private.require_role('admin');
  select * into source from public.customer_segments s where s.id = duplicate_segment.segment_id;
  if not found then
    raise sqlstate 'PT404' using detail = 'no_data_found (P0002)', message = format('segment_id: no segment %s', coalesce(duplicate_segment.segment_id::text, 'null'));
  end if;
  if new_name is null then
    new_name := left(source.name, 110) || ' (copy)';
    while exists (select 1 from public.customer_segments s where lower(s.name) = lower(new_name)) loop
      n := n + 1;
      new_name := format('%s (copy %s)', left(source.name, 105), n);
    end loop;
  elsif exists (select 1 from public.customer_segments s where lower(s.name) = lower(new_name)) then
    raise exception using errcode = '23505', message = format('name: a segment named %s exists already', quote_literal(new_name));
  end if;
  insert into public.customer_segments (name, description, definition, auto_refresh)
  values (new_name, source.description, source.definition, source.auto_refresh)
  returning id into new_id;
  return new_id;
end
$$;

COMMENT ON FUNCTION public.duplicate_segment(segment_id uuid, name text) IS 'Admin only. Copies a saved segment (definition, description, auto_refresh) under a new name ("<name> (copy)" by default); returns the new id.';

CREATE FUNCTION public.refresh_segment(segment_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform private.require_role('admin');
  return private.apply_segment_refresh(refresh_segment.segment_id);
end
$$;

COMMENT ON FUNCTION public.refresh_segment(segment_id uuid) IS 'Admin only. Recomputes a saved segment''s members, applying only the difference; returns {"segment_id","count","entered","exited","refreshed_at"}.';

CREATE VIEW public.segment_usage WITH (security_invoker='true') AS
 SELECT u.segment_id,
    u.campaign_id,
    u.campaign_name,
    u.used_at
   FROM private.segment_campaign_usage() u(segment_id, campaign_id, campaign_name, used_at);

COMMENT ON VIEW public.segment_usage IS 'Campaigns that used each saved segment (segment_id, campaign_id, campaign_name, used_at).';

CREATE VIEW public.segment_manager WITH (security_invoker='true') AS
 SELECT s.id,
    s.name,
    s.description,
    s.definition,
    s.version,
    s.auto_refresh,
    s.last_count,
    s.last_refreshed_at,
    s.created_by,
    s.created_at,
    s.updated_by,
    ub.full_name AS updated_by_name,
    s.updated_at,
    COALESCE(u.campaigns, '[]'::jsonb) AS usage,
    COALESCE(u.campaign_count, 0) AS usage_count
   FROM ((public.customer_segments s
     LEFT JOIN public.users ub ON ((ub.id = s.updated_by)))
     LEFT JOIN ( SELECT su.segment_id,
            jsonb_agg(jsonb_build_object('campaign_id', su.campaign_id, 'name', su.campaign_name, 'used_at', su.used_at) ORDER BY su.used_at DESC) AS campaigns,
            (count(*))::integer AS campaign_count
           FROM public.segment_usage su
          GROUP BY su.segment_id) u ON ((u.segment_id = s.id)));

COMMENT ON VIEW public.segment_manager IS 'Saved segments for the segment manager: last count and refresh, who changed them last, and the campaigns that used them.';

-- ------------------------------------------------------------------------------------------------
-- Triggers
-- ------------------------------------------------------------------------------------------------

CREATE TRIGGER _010_set_updated_at BEFORE UPDATE ON public.customer_segments FOR EACH ROW EXECUTE FUNCTION private.tg_set_updated_at();

CREATE TRIGGER _050_validate BEFORE INSERT OR UPDATE ON public.customer_segments FOR EACH ROW EXECUTE FUNCTION private.tg_customer_segments__validate();

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE ON public.customer_segments FOR EACH ROW EXECUTE FUNCTION private.tg_audit('id');

CREATE TRIGGER _900_audit_update AFTER UPDATE ON public.customer_segments FOR EACH ROW WHEN (((old.name IS DISTINCT FROM new.name) OR (old.description IS DISTINCT FROM new.description) OR (old.definition IS DISTINCT FROM new.definition) OR (old.auto_refresh IS DISTINCT FROM new.auto_refresh))) EXECUTE FUNCTION private.tg_audit('id');

-- ------------------------------------------------------------------------------------------------
-- Row-level security
-- ------------------------------------------------------------------------------------------------

call private.staff_access('public.customer_segment_members', read_by => 'admin');
call private.staff_access('public.customer_segments', read_by => 'admin', write_by => 'admin');

-- ------------------------------------------------------------------------------------------------
-- Grants
-- ------------------------------------------------------------------------------------------------

grant select on table public.customer_segment_members to service_role;
grant select on table
  public.segment_manager,
  public.segment_usage
to authenticated, service_role;
grant all on table public.customer_segments to service_role;
grant execute on function
  private.apply_segment_refresh(uuid),
  private.segment_campaign_usage(),
  public.duplicate_segment(uuid,text),
  public.refresh_segment(uuid)
to authenticated, service_role;

reset search_path;
reset check_function_bodies;
