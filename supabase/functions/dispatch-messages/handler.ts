// POST /functions/v1/dispatch-messages: one dispatcher run (called every few seconds by pg_cron
// through pg_net with the service-role key). Sends what is due within a time budget.
import { authenticate } from "../_shared/auth.ts";
import { HttpError, json, KiB, requireMethod, serveJson } from "../_shared/http.ts";
import { dispatch } from "../_shared/messaging/dispatch.ts";

export const handler = serveJson(async (req) => {
  requireMethod(req, "POST");
  const claims = await authenticate(req);
  if (claims.role !== "service_role") throw new HttpError(403, "forbidden", "dispatch-messages needs the service role");
  const text = await req.text();
  let budgetMs = 20_000;
  if (text.trim()) {
    let body: { budget_ms?: unknown };
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError(400, "invalid_json", "body: not valid JSON");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HttpError(400, "invalid_body", "body: must be a JSON object");
    }
    if (body.budget_ms !== undefined) {
      if (typeof body.budget_ms !== "number" || !Number.isInteger(body.budget_ms) || body.budget_ms < 100 || body.budget_ms > 120_000) {
        throw new HttpError(400, "invalid_body", "budget_ms: must be an integer from 100 to 120000");
      }
      budgetMs = body.budget_ms;
    }
  }
  const totals = await dispatch({ worker: `edge-${crypto.randomUUID()}`, budgetMs });
  return json(200, totals);
}, { maxBodyBytes: 16 * KiB });
