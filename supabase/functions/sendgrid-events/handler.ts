// POST /functions/v1/sendgrid-events: SendGrid's Signed Event Webhook. Verified, deduplicated on
// sg_event_id, applied in one transaction; answered once committed, so nothing acknowledged is lost.
import { asService } from "../_shared/db.ts";
import { env } from "../_shared/env.ts";
import { errorResponse, HttpError, json, MiB, requireMethod, serveJson } from "../_shared/http.ts";
import { verifySendgridSignature } from "../_shared/providers/webhooks.ts";

// SendGrid batches events; a batch is far below this.
const MAX_BYTES = 10 * MiB;

export const handler = serveJson(async (req) => {
  requireMethod(req, "POST");
  // an unsigned request is refused before its body is read; a signed one is read up to MAX_BYTES
  if (!req.headers.get("x-twilio-email-event-webhook-signature") || !req.headers.get("x-twilio-email-event-webhook-timestamp")) {
    return errorResponse(401, "bad_signature", "missing X-Twilio-Email-Event-Webhook-Signature or -Timestamp");
  }
  const raw = new Uint8Array(await req.arrayBuffer());

  const check = verifySendgridSignature({
    publicKey: env("SENDGRID_WEBHOOK_PUBLIC_KEY"),
    signature: req.headers.get("x-twilio-email-event-webhook-signature"),
    timestamp: req.headers.get("x-twilio-email-event-webhook-timestamp"),
    rawBody: raw,
    toleranceSeconds: Number(env("SENDGRID_WEBHOOK_TOLERANCE_SECONDS", "600")),
  });
  if (!check.ok) return errorResponse(401, "bad_signature", check.reason);

  let events: unknown;
  try {
    events = JSON.parse(new TextDecoder().decode(raw));
  } catch {
    throw new HttpError(400, "invalid_json", "body: not valid JSON");
  }
  if (!Array.isArray(events)) throw new HttpError(400, "invalid_body", "body: must be a JSON array of events");
  const result = await asService(async (tx) => {
    const [row] = await tx<[{ r: Record<string, number> }]>`select private.ingest_sendgrid_events(${tx.json(events as never)}) as r`;
    return row.r;
  });
  return json(200, result);
}, { maxBodyBytes: MAX_BYTES });
