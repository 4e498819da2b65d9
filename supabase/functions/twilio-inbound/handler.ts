// POST /functions/v1/twilio-inbound: an SMS a customer sent us. Verified, stored in the webhook
// inbox and applied before the answer (STOP-family keywords revoke SMS consent, START/YES/UNSTOP
// grant it, HELP changes nothing): every inbound message may be a consent act. Answers empty TwiML.
import { asService } from "../_shared/db.ts";
import { errorResponse } from "../_shared/http.ts";
import { serveTwilioWebhook } from "../_shared/providers/twilio-webhook.ts";

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

export const handler = serveTwilioWebhook("twilio-inbound", async (params) => {
  if (!params.From) return errorResponse(400, "invalid_body", "From is required");
  await asService((tx) => tx`select private.accept_webhook('twilio_inbound', ${JSON.stringify(params)}, 1, ${tx.json(true)})`);
  return new Response(EMPTY_TWIML, { status: 200, headers: { "Content-Type": "text/xml; charset=utf-8" } });
});
