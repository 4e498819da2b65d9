-- Engagement facts follow the provider events: opens and clicks update last_engaged_at and
-- engaged_campaigns_90d in the same transaction (the nightly refresh moves the 90-day window).
create trigger _200_facts_insert after insert on public.message_events
  referencing new table as new_rows for each statement execute function private.tg_message_events__facts();
