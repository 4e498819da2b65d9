// POST /functions/v1/sendgrid-events: SendGrid's Signed Event Webhook. Verified, stored in the
// webhook inbox and answered; the inbox worker applies the batch (dedupe on sg_event_id, ranked
// statuses, analytics, consent). An unsubscribe, spam report, bounce or drop holds its address from
// sending before the answer. docs/webhooks.md.
import { createHash } from "node:crypto";
import { sql } from "../_shared/db.ts";
import { env } from "../_shared/env.ts";
import { errorResponse, HttpError, json, requireMethod, serveJson } from "../_shared/http.ts";
import { sendgridContactEvents, verifySendgridSignature, withoutNul } from "../_shared/providers/webhooks.ts";
import { SENDGRID_EVENTS_MAX_BYTES, SENDGRID_WEBHOOK_TOLERANCE_SECONDS } from "../_shared/limits.ts";

// SendGrid batches events; a batch is far below this.
const MAX_BYTES = SENDGRID_EVENTS_MAX_BYTES;

export const handler = serveJson(async (req) => {
  requireMethod(req, "POST");
  // an unsigned request is refused before its body is read; a signed one is read up to MAX_BYTES
  // (serveJson's limit answers 413 for a longer body, chunked or not)
  if (!req.headers.get("x-twilio-email-event-webhook-signature") || !req.headers.get("x-twilio-email-event-webhook-timestamp")) {
    return errorResponse(401, "bad_signature", "missing X-Twilio-Email-Event-Webhook-Signature or -Timestamp");
  }
  const t0 = performance.now();
  const raw = new Uint8Array(await req.arrayBuffer());

  const check = verifySendgridSignature({
    publicKey: env("SENDGRID_WEBHOOK_PUBLIC_KEY"),
    signature: req.headers.get("x-twilio-email-event-webhook-signature"),
    timestamp: req.headers.get("x-twilio-email-event-webhook-timestamp"),
    rawBody: raw,
    toleranceSeconds: Number(env("SENDGRID_WEBHOOK_TOLERANCE_SECONDS", String(SENDGRID_WEBHOOK_TOLERANCE_SECONDS))),
  });
  if (!check.ok) return errorResponse(401, "bad_signature", check.reason);
  const t1 = performance.now();

  const text = new TextDecoder().decode(raw);
  let events: unknown;
  try {
    events = JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_json", "body: not valid JSON");
  }
  if (!Array.isArray(events)) throw new HttpError(400, "invalid_body", "body: must be a JSON array of events");
  // The raw body is stored as sent, unless it carries NUL characters Postgres cannot hold.
  const clean = text.includes("\\u0000") ? withoutNul(events) : events;
  const body = clean === events ? text : JSON.stringify(clean);
  const t2 = performance.now();
  const digest = createHash("sha256").update(body).digest();
  // one statement, one round trip: accept_webhook is a security definer function (service role);
  // the opt-outs among the events hold their addresses in the same transaction
  const db = sql();
  const [{ r: accepted }] = await db<[{ r: { inbox_id: number; duplicate_batch: boolean; applied_now: number } }]>`
    select private.accept_webhook('sendgrid_events', ${body}, ${clean.length}, ${db.json(sendgridContactEvents(clean) as never)}, ${digest}) as r`;
  const t3 = performance.now();
  // where the time went, for the benchmark and for anyone watching latency
  const timing = `verify;dur=${(t1 - t0).toFixed(1)}, parse;dur=${(t2 - t1).toFixed(1)}, db;dur=${(t3 - t2).toFixed(1)}`;
  return json(200, { received: clean.length, ...accepted }, { "Server-Timing": timing });
}, { maxBodyBytes: MAX_BYTES });
