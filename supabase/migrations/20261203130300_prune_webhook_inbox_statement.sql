-- private.prune_webhook_inbox is one statement (the plpgsql wrapper around a delete had no logic).
CREATE OR REPLACE FUNCTION private.prune_webhook_inbox(keep interval DEFAULT '7 days'::interval) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
  with pruned as (
    delete from private.webhook_inbox i where i.applied_at < now() - prune_webhook_inbox.keep returning 1
  )
  select count(*)::integer from pruned
$$;

