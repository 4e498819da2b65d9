// GET /timeline-export?customer_id=&types=&since=&until= -> text/csv of the customer's timeline,
// newest first, streamed page by page from customer_timeline inside one repeatable-read
// transaction as the caller (so memory stays flat and the file is one consistent snapshot).
// Admins only; every export writes an audit row with who, whose, which filters and how many rows.
import { authenticate, type Claims } from "../_shared/auth.ts";
import { sql, type Tx } from "../_shared/db.ts";
import { corsHeaders, HttpError, requireMethod, serveJson } from "../_shared/http.ts";
import { csvEvent, csvHeader, type TimelineEvent } from "./csv.ts";
import { type ExportParams, parseExportParams } from "./params.ts";

const PAGE_SIZE = 500;
const API_ROLES = new Set(["anon", "authenticated", "service_role"]);

interface Page {
  events: TimelineEvent[];
  next_cursor: string | null;
}

async function fetchPage(tx: Tx, p: ExportParams, cursor: string | null): Promise<Page> {
  const [row] = await tx`
    select public.customer_timeline(${p.customer_id}::uuid, ${p.types}::text[], ${p.since}::timestamptz,
                                    ${p.until}::timestamptz, ${PAGE_SIZE}, ${cursor}) as page`;
  return row.page as Page;
}

async function actAs(tx: Tx, claims: Claims): Promise<void> {
  const role = API_ROLES.has(claims.role) ? claims.role : "anon";
  await tx`select set_config('role', ${role}, true), set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
}

function audit(tx: Tx, p: ExportParams, rows: number, completed: boolean) {
  const context = { format: "csv", filters: { types: p.types, since: p.since, until: p.until }, rows, completed };
  return tx`select private.audit_timeline_export(${p.customer_id}::uuid, ${tx.json(context)})`;
}

export const handler = serveJson(async (req) => {
  requireMethod(req, "GET");
  const claims = await authenticate(req);
  // refusals in the order the RPC answers them: who asks before what they ask for
  await sql().begin(async (tx) => {
    await actAs(tx, claims);
    await tx`select private.require_role('admin')`;
  });
  const parsed = parseExportParams(new URL(req.url).searchParams);
  if (!parsed.ok) {
    const first = parsed.problems[0];
    throw new HttpError(400, "invalid_parameter", `${first.parameter}: ${first.message}`, { problems: parsed.problems });
  }
  const p = parsed.params;
  const encoder = new TextEncoder();
  const filename = `timeline-${p.customer_id}-${new Date().toISOString().slice(0, 10).replaceAll("-", "")}.csv`;

  return await new Promise<Response>((resolve, reject) => {
    let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
    let rows = 0;
    const exported = sql().begin("isolation level repeatable read", async (tx) => {
      await actAs(tx, claims);
      await tx`select private.require_role('admin')`;
      // the first page answers the refusals (400, 404) before the response starts
      let page = await fetchPage(tx, p, null);
      // no buffering beyond one chunk: write() waits until the client has read the last one
      const stream = new TransformStream<Uint8Array, Uint8Array>();
      writer = stream.writable.getWriter();
      resolve(new Response(stream.readable, {
        status: 200,
        headers: {
          ...corsHeaders,
          "Content-Type": "text/csv; charset=utf-8",
          "Content-Disposition": `attachment; filename="${filename}"`,
          "Cache-Control": "no-store",
        },
      }));
      await writer.write(encoder.encode(csvHeader()));
      for (;;) {
        let chunk = "";
        for (const event of page.events) chunk += csvEvent(event);
        await writer.write(encoder.encode(chunk));
        rows += page.events.length;
        if (!page.next_cursor) break;
        page = await fetchPage(tx, p, page.next_cursor);
      }
      await audit(tx, p, rows, true);
    });
    exported.then(
      // closed after the commit, so a client that has read the whole file finds the audit row
      () => writer!.close(),
      async (err) => {
        if (!writer) return reject(err);
        // the response had started: the download was cut; the attempt is still audited
        console.error("timeline-export: stream aborted", err);
        await writer.abort(err).catch(() => {});
        await sql().begin(async (tx) => {
          await actAs(tx, claims);
          await audit(tx, p, rows, false);
        }).catch((e) => console.error("timeline-export: audit of the aborted export failed", e));
      },
    );
  });
});
