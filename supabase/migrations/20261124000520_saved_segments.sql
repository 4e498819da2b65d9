-- Saved segments: validated definitions with a revision number, duplication, the segment
-- manager's view, audit, and materialised membership for auto-refresh segments, refreshed by
-- diff (each entry and exit a `segment` timeline event) and nightly by pg_cron.

alter table public.customer_segments
  add column version integer not null default 1,
  add column auto_refresh boolean not null default false,
  add column last_count integer,
  add column last_refreshed_at timestamptz,
  add column updated_by uuid references public.users (id) on delete set null,
  alter column created_by set default auth.uid(),
  add constraint customer_segments_name_length_1_to_120 check (char_length(btrim(name)) between 1 and 120),
  add constraint customer_segments_description_max_2000 check (char_length(description) <= 2000);
comment on column public.customer_segments.version is 'Revision of the saved segment: 1 when created, +1 on every change of its definition.';
create unique index customer_segments_name_key on public.customer_segments (lower(name));
create index customer_segments_updated_by_idx on public.customer_segments (updated_by);
create index customer_segments_auto_refresh_idx on public.customer_segments (id) where auto_refresh;

-- Refuses an invalid definition with the validator's first error and its path; stamps who and which revision.
create or replace function private.tg_customer_segments__validate()
returns trigger
language plpgsql
set search_path = ''
as $$
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

create trigger _050_validate before insert or update on public.customer_segments
  for each row execute function private.tg_customer_segments__validate();
-- Edits are audited; a refresh's new count and time are not (they are on the segment itself).
create trigger _900_audit after insert or delete on public.customer_segments
  for each row execute function private.tg_audit('id');
create trigger _900_audit_update after update on public.customer_segments
  for each row
  when ((old.name, old.description, old.definition, old.auto_refresh) is distinct from (new.name, new.description, new.definition, new.auto_refresh))
  execute function private.tg_audit('id');

-- ---------------------------------------------------------------------------------------------
-- Membership of auto-refresh segments, written only by refresh_segment.
-- ---------------------------------------------------------------------------------------------

create table public.customer_segment_members (
  segment_id uuid not null references public.customer_segments (id) on delete cascade,
  customer_id uuid not null references public.users (id) on delete cascade,
  entered_at timestamptz not null default now(),
  primary key (segment_id, customer_id)
);
comment on table public.customer_segment_members is
  'Who is in each saved segment as of its last refresh_segment; entries and exits are segment timeline events.';
create index customer_segment_members_customer_id_idx on public.customer_segment_members (customer_id);

alter table public.customer_segment_members enable row level security;
revoke all on public.customer_segment_members from anon, authenticated, service_role;
grant select on public.customer_segment_members to authenticated, service_role;
create policy customer_segment_members_select_admin on public.customer_segment_members
  for select to authenticated using ((select private.is_admin()));

-- Applies the difference between stored and current membership. Security definer because only
-- this function writes members and segment stats; it refuses a signed-in non-admin itself
-- (cron and the service role have no user and pass).
create or replace function private.apply_segment_refresh(segment_id uuid)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
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
    raise exception using errcode = 'P0002', message = format('segment_id: no segment %s', apply_segment_refresh.segment_id);
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

-- Admin RPC: refresh one saved segment now.
create or replace function public.refresh_segment(segment_id uuid)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform private.require_role('admin');
  return private.apply_segment_refresh(refresh_segment.segment_id);
end
$$;
comment on function public.refresh_segment(uuid) is
  'Admin only. Recomputes a saved segment''s members, applying only the difference; returns {"segment_id","count","entered","exited","refreshed_at"}.';

-- Nightly: engagement facts whose 90-day window moved, then every auto-refresh segment. One
-- segment's failure (an invalid definition cannot be saved, but a timeout can happen) does not
-- stop the others; it is logged as a warning and in the audit log.
create or replace function private.refresh_auto_segments()
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
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
    perform private.refresh_engagement_facts(ids);
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

-- Registered idempotently: unschedule by name, then schedule.
select cron.unschedule(j.jobid) from cron.job j where j.jobname = 'crm_refresh_segments';
select cron.schedule('crm_refresh_segments', '30 2 * * *', 'select private.refresh_auto_segments()');

-- ---------------------------------------------------------------------------------------------
-- duplicate_segment
-- ---------------------------------------------------------------------------------------------

create or replace function public.duplicate_segment(segment_id uuid, name text default null)
returns uuid
language plpgsql
volatile
set search_path = ''
as $$
declare
  source public.customer_segments;
  new_name text := nullif(btrim(duplicate_segment.name), '');
  n integer := 1;
  new_id uuid;
begin
  perform private.require_role('admin');
  select * into source from public.customer_segments s where s.id = duplicate_segment.segment_id;
  if not found then
    raise exception using errcode = 'P0002', message = format('segment_id: no segment %s', coalesce(duplicate_segment.segment_id::text, 'null'));
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
comment on function public.duplicate_segment(uuid, text) is
  'Admin only. Copies a saved segment (definition, description, auto_refresh) under a new name ("<name> (copy)" by default); returns the new id.';

-- ---------------------------------------------------------------------------------------------
-- Segment manager
-- ---------------------------------------------------------------------------------------------

-- Campaigns that used a segment, from public.campaigns.segment_id. Campaigns arrive with a later
-- migration, so the view reads them through a function bound when it runs: no campaigns table,
-- no usage. Runs as the caller (campaigns' RLS applies).
create or replace function private.segment_campaign_usage()
returns table (segment_id uuid, campaign_id uuid, campaign_name text, used_at timestamptz)
language plpgsql
stable
set search_path = ''
as $$
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

create view public.segment_usage with (security_invoker = true) as
select u.segment_id, u.campaign_id, u.campaign_name, u.used_at from private.segment_campaign_usage() u;
comment on view public.segment_usage is 'Campaigns that used each saved segment (segment_id, campaign_id, campaign_name, used_at).';

create view public.segment_manager with (security_invoker = true) as
select s.id, s.name, s.description, s.definition, s.version, s.auto_refresh, s.last_count, s.last_refreshed_at,
       s.created_by, s.created_at, s.updated_by, ub.full_name as updated_by_name, s.updated_at,
       coalesce(u.campaigns, '[]'::jsonb) as usage,
       coalesce(u.campaign_count, 0) as usage_count
  from public.customer_segments s
  left join public.users ub on ub.id = s.updated_by
  left join (
    select su.segment_id,
           jsonb_agg(jsonb_build_object('campaign_id', su.campaign_id, 'name', su.campaign_name, 'used_at', su.used_at)
                     order by su.used_at desc) as campaigns,
           count(*)::integer as campaign_count
      from public.segment_usage su
     group by su.segment_id
  ) u on u.segment_id = s.id;
comment on view public.segment_manager is
  'Saved segments for the segment manager: last count and refresh, who changed them last, and the campaigns that used them.';

revoke all on public.segment_usage, public.segment_manager from anon;
grant select on public.segment_usage, public.segment_manager to authenticated, service_role;

grant execute on function public.refresh_segment(uuid), public.duplicate_segment(uuid, text) to authenticated, service_role;
grant execute on function private.apply_segment_refresh(uuid), private.segment_campaign_usage() to authenticated, service_role;
