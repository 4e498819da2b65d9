// POST /functions/v1/sendgrid-suppression-sync (service role; pg_cron `crm_sync_suppressions`
// through pg_net on Supabase): pulls every SendGrid suppression list since the last sync, paged,
// and upserts suppressions and consent.
import { authenticate } from "../_shared/auth.ts";
import { asService } from "../_shared/db.ts";
import { env } from "../_shared/env.ts";
import { HttpError, json, requireMethod, serveJson } from "../_shared/http.ts";
import { fetchWithTimeout } from "../_shared/providers/types.ts";

const KINDS = ["unsubscribes", "bounces", "spam_reports", "invalid_emails", "blocks"] as const;
const PAGE = 500;

async function fetchPage(kind: string, since: number, offset: number): Promise<Array<Record<string, unknown>>> {
  const url = `${env("SENDGRID_BASE_URL", "https://api.sendgrid.com")}/v3/suppression/${kind}?start_time=${since}&limit=${PAGE}&offset=${offset}`;
  for (let attempt = 1; ; attempt++) {
    const res = await fetchWithTimeout(url, { headers: { Authorization: `Bearer ${env("SENDGRID_API_KEY")}` } }, 15_000);
    if (res.ok) return await res.json();
    if ((res.status === 429 || res.status >= 500) && attempt < 4) {
      const reset = Number(res.headers.get("x-ratelimit-reset"));
      const waitMs = Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - Date.now()) : 500 * 2 ** attempt;
      await new Promise((r) => setTimeout(r, Math.min(waitMs, 10_000)));
      continue;
    }
    throw new HttpError(502, "provider_error", `SendGrid answered ${res.status} for ${kind}`);
  }
}

export async function syncSuppressions(): Promise<Array<Record<string, unknown>>> {
  const results = [];
  for (const kind of KINDS) {
    const startedAt = new Date();
    const [{ since }] = await asService((tx) => tx<[{ since: Date }]>`select private.suppression_sync_since(${kind}) as since`);
    const rows: Array<Record<string, unknown>> = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await fetchPage(kind, Math.floor(since.getTime() / 1000), offset);
      rows.push(...page);
      if (page.length < PAGE) break;
    }
    const [{ r }] = await asService((tx) =>
      tx<[{ r: Record<string, unknown> }]>`select private.ingest_sendgrid_suppressions(${kind}, ${tx.json(rows as never)}, ${startedAt}) as r`
    );
    results.push(r);
  }
  return results;
}

export const handler = serveJson(async (req) => {
  requireMethod(req, "POST");
  const claims = await authenticate(req);
  if (claims.role !== "service_role") throw new HttpError(403, "forbidden", "sendgrid-suppression-sync needs the service role");
  return json(200, { synced: await syncSuppressions() });
});
