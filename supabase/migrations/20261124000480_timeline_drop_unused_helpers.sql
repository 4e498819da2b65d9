-- The set-based builders (0460) write titles and keys inline; these 0400 helpers lost their last
-- caller. The drift check and backfill keep tl_stamp, tl_has_event, tl_latest_event and the
-- *_is_eventful rules.
drop function private.tl_days(date, date);
drop function private.tl_when(timestamptz);
drop function private.tl_money(numeric, text);
drop function private.tl_excerpt(text, integer);
drop function private.tl_change_key(text, uuid, text);
