// Signing webhook requests the way SendGrid and Twilio do.
import { createHmac, sign } from "node:crypto";
import { FUNCTIONS_URL } from "./index.ts";

export function signSendgrid(body: string, opts: { timestamp?: number; key?: string } = {}): Record<string, string> {
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = sign("sha256", Buffer.from(timestamp + body), opts.key ?? process.env.TEST_SENDGRID_PRIVATE_KEY!).toString("base64");
  return {
    "Content-Type": "application/json",
    "X-Twilio-Email-Event-Webhook-Signature": signature,
    "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
  };
}

export async function postSendgrid(events: unknown, opts: { timestamp?: number; key?: string; tamper?: (b: string) => string } = {}) {
  const body = JSON.stringify(events);
  const headers = signSendgrid(body, opts);
  return await fetch(`${FUNCTIONS_URL}/sendgrid-events`, { method: "POST", headers, body: opts.tamper ? opts.tamper(body) : body });
}

export function twilioSign(url: string, params: Record<string, string>, token = process.env.TWILIO_AUTH_TOKEN!): string {
  const data = Object.keys(params).sort().reduce((acc, k) => acc + k + params[k], url);
  return createHmac("sha1", token).update(Buffer.from(data, "utf8")).digest("base64");
}

// Posts a Twilio webhook; signedUrl is the URL the signature is computed over (Twilio's view).
export async function postTwilio(name: string, params: Record<string, string>, opts: { signedUrl?: string; signature?: string } = {}) {
  const signedUrl = opts.signedUrl ?? `${process.env.PUBLIC_FUNCTIONS_URL}/${name}`;
  return await fetch(`${FUNCTIONS_URL}/${name}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Twilio-Signature": opts.signature ?? twilioSign(signedUrl, params),
    },
    body: new URLSearchParams(params),
  });
}

let seq = 0;
export function sgEvent(event: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sg_event_id: `ev-${Date.now()}-${seq++}-${Math.random().toString(36).slice(2)}`,
    event,
    timestamp: Math.floor(Date.now() / 1000),
    sg_message_id: "msg.filter0001",
    ...fields,
  };
}
