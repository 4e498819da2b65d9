// POST /functions/v1/twilio-status: Twilio's message status callback. Verified, stored in the
// webhook inbox and answered; the inbox worker applies it. Error 21610 (the number replied STOP)
// is applied before the answer. docs/webhooks.md.
import { asService } from "../_shared/db.ts";
import { env } from "../_shared/env.ts";
import { errorResponse, json, KiB, requireMethod, serveJson } from "../_shared/http.ts";
import { publicUrl, readForm, TWILIO_OPT_OUT_ERROR, verifyTwilioSignature, withoutNul } from "../_shared/providers/webhooks.ts";

// Twilio posts a few KB of form fields (a 1600-character SMS at most).
const TWILIO_MAX_BODY_BYTES = 128 * KiB;

export const handler = serveJson(async (req) => {
  requireMethod(req, "POST");
  // an unsigned request is refused before its body is read
  if (!req.headers.get("x-twilio-signature")) return errorResponse(401, "bad_signature", "missing X-Twilio-Signature");
  const signed = await readForm(req);
  const check = verifyTwilioSignature({
    authToken: env("TWILIO_AUTH_TOKEN"),
    signature: req.headers.get("x-twilio-signature"),
    url: publicUrl(req, "twilio-status", env("PUBLIC_FUNCTIONS_URL")),
    params: signed,
  });
  if (!check.ok) return errorResponse(401, "bad_signature", check.reason);
  const params = withoutNul(signed);
  if (!params.MessageSid || !params.MessageStatus) {
    return errorResponse(400, "invalid_body", "MessageSid and MessageStatus are required");
  }
  // our recipient id, from the callback URL the dispatcher gave Twilio (signed with the URL above):
  // evidence for a send whose outcome a dead worker never recorded
  const rid = new URL(req.url).searchParams.get("rid");
  if (rid && /^[0-9a-f-]{36}$/i.test(rid)) params._recipient_id = rid.toLowerCase();
  const now = params.ErrorCode === TWILIO_OPT_OUT_ERROR;
  const accepted = await asService(async (tx) => {
    const [row] = await tx<[{ r: Record<string, unknown> }]>`
      select private.accept_webhook('twilio_status', ${JSON.stringify(params)}, 1, ${now ? tx.json(true) : null}) as r`;
    return row.r;
  });
  return json(200, accepted);
}, { maxBodyBytes: TWILIO_MAX_BODY_BYTES });
