// POST /functions/v1/twilio-status: Twilio's message status callback, signature-checked.
import { asService } from "../_shared/db.ts";
import { env } from "../_shared/env.ts";
import { errorResponse, json, KiB, requireMethod, serveJson } from "../_shared/http.ts";
import { publicUrl, readForm, verifyTwilioSignature } from "../_shared/providers/webhooks.ts";

// Twilio posts a few KB of form fields (a 1600-character SMS at most).
const TWILIO_MAX_BODY_BYTES = 128 * KiB;

export const handler = serveJson(async (req) => {
  requireMethod(req, "POST");
  // an unsigned request is refused before its body is read
  if (!req.headers.get("x-twilio-signature")) return errorResponse(401, "bad_signature", "missing X-Twilio-Signature");
  const params = await readForm(req);
  const check = verifyTwilioSignature({
    authToken: env("TWILIO_AUTH_TOKEN"),
    signature: req.headers.get("x-twilio-signature"),
    url: publicUrl(req, "twilio-status", env("PUBLIC_FUNCTIONS_URL")),
    params,
  });
  if (!check.ok) return errorResponse(401, "bad_signature", check.reason);
  if (!params.MessageSid || !params.MessageStatus) {
    return errorResponse(400, "invalid_body", "MessageSid and MessageStatus are required");
  }
  const result = await asService(async (tx) => {
    const [row] = await tx<[{ r: Record<string, unknown> }]>`select private.ingest_twilio_status(${tx.json(params)}) as r`;
    return row.r;
  });
  return json(200, result);
}, { maxBodyBytes: TWILIO_MAX_BODY_BYTES });
