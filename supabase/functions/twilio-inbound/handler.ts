// POST /functions/v1/twilio-inbound: an SMS a customer sent us. STOP-family keywords revoke SMS
// consent, START/YES/UNSTOP grant it, HELP changes nothing. Answers empty TwiML.
import { asService } from "../_shared/db.ts";
import { env } from "../_shared/env.ts";
import { errorResponse, KiB, requireMethod, serveJson } from "../_shared/http.ts";
import { publicUrl, readForm, verifyTwilioSignature } from "../_shared/providers/webhooks.ts";

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

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
    url: publicUrl(req, "twilio-inbound", env("PUBLIC_FUNCTIONS_URL")),
    params,
  });
  if (!check.ok) return errorResponse(401, "bad_signature", check.reason);
  if (!params.From) return errorResponse(400, "invalid_body", "From is required");
  await asService((tx) => tx`select private.ingest_twilio_inbound(${tx.json(params)})`);
  return new Response(EMPTY_TWIML, { status: 200, headers: { "Content-Type": "text/xml; charset=utf-8" } });
}, { maxBodyBytes: TWILIO_MAX_BODY_BYTES });
