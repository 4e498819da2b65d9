// POST /functions/v1/twilio-status: Twilio's message status callback. Verified, stored in the
// webhook inbox and answered; the inbox worker applies it. Error 21610 (the number replied STOP)
// is applied before the answer. docs/webhooks.md.
import { asService } from "../_shared/db.ts";
import { errorResponse, json } from "../_shared/http.ts";
import { serveTwilioWebhook } from "../_shared/providers/twilio-webhook.ts";
import { TWILIO_OPT_OUT_ERROR } from "../_shared/providers/webhooks.ts";

export const handler = serveTwilioWebhook("twilio-status", async (params, req) => {
  if (!params.MessageSid || !params.MessageStatus) {
    return errorResponse(400, "invalid_body", "MessageSid and MessageStatus are required");
  }
  // our recipient id, from the callback URL the dispatcher gave Twilio (part of the signed URL):
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
});
