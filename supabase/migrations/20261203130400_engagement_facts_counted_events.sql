-- Machine opens and automated clicks refresh the engagement facts only when the settings count
-- them (count_machine_opens, count_bot_clicks): otherwise they cannot change the facts, and a third
-- of the opens a webhook batch carries are machine opens (docs/webhooks.md, "Figures").
CREATE OR REPLACE FUNCTION private.tg_message_events__facts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  machine_opens boolean := coalesce((private.engagement_setting('count_machine_opens') #>> '{}')::boolean, false);
  bot_clicks boolean := coalesce((private.engagement_setting('count_bot_clicks') #>> '{}')::boolean, false);
begin
  -- only events that count as engagement (private.customer_engagement) can change the facts
  perform private.refresh_facts('engagement', array(
    select n.customer_id
      from new_rows n
     where n.customer_id is not null
       and (n.event in ('open', 'click', 'read') or (n.event = 'machine_open' and machine_opens) or (n.event = 'bot_click' and bot_clicks))));
  return null;
end
$$;

