// GET /timeline-export?customer_id=&types=&since=&until= -> text/csv of the customer's timeline,
// newest first, streamed page by page from customer_timeline as the caller. Each page is its own
// short transaction (keyset cursor), fetched only when the client has read the previous one: a
// slow download holds no database connection, and memory stays flat.
// Admins only; every export writes an audit row with who, whose, which filters and how many rows.
import type { Claims } from "../_shared/auth.ts";
import { asCaller, type Tx } from "../_shared/db.ts";
import { attachmentHeaders } from "../_shared/exports.ts";
import { HttpError, serveJson } from "../_shared/http.ts";
import { authorizeStaff } from "../_shared/staff.ts";
import { csvEvent, csvHeader, type TimelineEvent } from "./csv.ts";
import { type ExportParams, parseExportParams } from "./params.ts";

const PAGE_SIZE = 500;

interface Page {
  events: TimelineEvent[];
  next_cursor: string | null;
}

async function fetchPage(claims: Claims, p: ExportParams, cursor: string | null): Promise<Page> {
  const [row] = await asCaller(claims, (tx: Tx) => tx`
    select public.customer_timeline(${p.customer_id}::uuid, ${p.types}::text[], ${p.since}::timestamptz,
                                    ${p.until}::timestamptz, ${PAGE_SIZE}, ${cursor}) as page`);
  return row.page as Page;
}

async function audit(claims: Claims, p: ExportParams, rows: number, completed: boolean): Promise<void> {
  const context = { format: "csv", filters: { types: p.types, since: p.since, until: p.until }, rows, completed };
  await asCaller(claims, (tx) => tx`select private.audit_export('customer_timeline', ${p.customer_id}::uuid::text, ${tx.json(context)})`);
}

export const handler = serveJson(async (req) => {
  // refusals in the order the RPC answers them: who asks before what they ask for
  const claims = await authorizeStaff(req, "GET", "admin");
  const parsed = parseExportParams(new URL(req.url).searchParams);
  if (!parsed.ok) {
    const first = parsed.problems[0];
    throw new HttpError(400, "invalid_parameter", `${first.parameter}: ${first.message}`, { problems: parsed.problems });
  }
  const p = parsed.params;
  const encoder = new TextEncoder();
  const filename = `timeline-${p.customer_id}-${new Date().toISOString().slice(0, 10).replaceAll("-", "")}.csv`;

  // the first page answers the refusals (400, 404) before the response starts
  let pending: Page | null = await fetchPage(claims, p, null);
  let cursor: string | null = null;
  let rows = 0;
  let finished = false;
  let cancelled = false; // the client went away (a page may still be on its way from the database)
  const incomplete = async () => {
    if (finished) return;
    finished = true;
    await audit(claims, p, rows, false).catch((e) => console.error("timeline-export: audit of the aborted export failed", e));
  };

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(csvHeader()));
    },
    // called only when the client has taken what was queued: one page ahead at most
    async pull(controller) {
      try {
        const page: Page = pending ?? await fetchPage(claims, p, cursor);
        pending = null;
        if (cancelled) return;
        let chunk = "";
        for (const event of page.events) chunk += csvEvent(event);
        if (chunk) controller.enqueue(encoder.encode(chunk));
        rows += page.events.length;
        cursor = page.next_cursor;
        if (!cursor) {
          // closed after the audit commits, so a client that has read the whole file finds the row
          await audit(claims, p, rows, true);
          finished = true;
          controller.close();
        }
      } catch (err) {
        // the response had started: the download is cut; the attempt is still audited
        console.error("timeline-export: stream aborted", err);
        await incomplete();
        controller.error(err);
      }
    },
    async cancel() {
      cancelled = true;
      await incomplete();
    },
  });

  return new Response(body, { status: 200, headers: attachmentHeaders("text/csv; charset=utf-8", filename) });
});
