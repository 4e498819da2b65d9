// Timeline helpers for the TypeScript tests: read customer_timeline as a user, every page.
import { sql } from "./index.ts";

export interface TimelinePage {
  events: Array<{ id: string; event_type: string; occurred_at: string; day: string; reference_id: string | null; title: string; metadata: Record<string, unknown> }>;
  next_cursor: string | null;
  counts: Record<string, number>;
}

export interface TimelineFilters {
  types?: string[] | null;
  since?: string | null;
  until?: string | null;
}

// One page as PostgREST would run the RPC for the user.
export async function timelinePage(userId: string, customerId: string, f: TimelineFilters = {}, pageSize = 50, cursor: string | null = null): Promise<TimelinePage> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true),
                    set_config('request.jwt.claims', ${JSON.stringify({ sub: userId, role: "authenticated" })}, true)`;
    const [row] = await tx`select public.customer_timeline(${customerId}::uuid, ${f.types ?? null}::text[], ${f.since ?? null}::timestamptz,
                                                           ${f.until ?? null}::timestamptz, ${pageSize}, ${cursor}) as page`;
    return row.page as TimelinePage;
  }) as TimelinePage;
}

// Every event of the listing, following next_cursor.
export async function timelineAll(userId: string, customerId: string, f: TimelineFilters = {}): Promise<TimelinePage["events"]> {
  const events: TimelinePage["events"] = [];
  let cursor: string | null = null;
  do {
    const page: TimelinePage = await timelinePage(userId, customerId, f, 500, cursor);
    events.push(...page.events);
    cursor = page.next_cursor;
  } while (cursor);
  return events;
}
