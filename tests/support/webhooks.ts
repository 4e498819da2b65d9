// Signing webhook requests the way SendGrid and Twilio do: SendGrid's ECDSA signature with
// node:crypto (the signer's side), Twilio's with the vendor's own library (twilio, dev only).
import { sign } from "node:crypto";
import twilio from "twilio";
import { expect } from "vitest";
import { callFunction, FUNCTIONS_URL, sql } from "./index.ts";
import { communicator, customerWith, drain, recipients } from "./messaging.ts";

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
  return twilio.getExpectedTwilioSignature(token, url, params);
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

// The webhooks answer once the body is in the inbox; this applies the inbox (as the worker does)
// until the given row is applied.
export async function inboxApplied(inboxId: number, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    await sql`select private.apply_webhook_inbox(100000, part) from generate_series(0, private.webhook_apply_parts() - 1) part`;
    const [row] = await sql`select applied_at is not null or failed_at is not null as done from private.webhook_inbox where id = ${inboxId}`;
    if (!row || row.done) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`inbox row ${inboxId} not applied in ${timeoutMs} ms`);
}

// Posts a signed SendGrid batch and waits until the inbox has applied it; returns the answer.
export async function postSendgridApplied(events: unknown, opts: { timestamp?: number; key?: string } = {}) {
  const res = await postSendgrid(events, opts);
  const body = await res.json();
  if (res.status !== 200) throw new Error(`sendgrid-events answered ${res.status}: ${JSON.stringify(body)}`);
  await inboxApplied(body.inbox_id);
  return body as { received: number; inbox_id: number; duplicate_batch: boolean; applied_now: number };
}

// Posts a signed Twilio status callback and waits until it is applied.
export async function postTwilioStatusApplied(params: Record<string, string>) {
  const res = await postTwilio("twilio-status", params);
  const body = await res.json();
  if (res.status !== 200) throw new Error(`twilio-status answered ${res.status}: ${JSON.stringify(body)}`);
  await inboxApplied(body.inbox_id);
  return body;
}

// A sent email campaign to n consenting customers; returns its recipients.
export async function sentEmail(n = 1) {
  const comms = await communicator();
  const customers = [];
  for (let i = 0; i < n; i++) customers.push(await customerWith({ consent: { email: true } }));
  const res = await callFunction("bulk-message", {
    jwt: comms.jwt,
    body: { name: "Webhook test", channel: "email", content: { subject: "Hi", text: "Hello" }, audience: { customer_ids: customers.map((c) => c.id) } },
  });
  const { campaign_id } = await res.json();
  await drain([], 800);
  const rows = await recipients(campaign_id);
  expect(rows.every((r) => r.status === "sent")).toBe(true);
  return { campaign_id, comms, customers, rows };
}

export function eventFor(r: { id: string; address: string | null }, campaignId: string, event: string, extra: Record<string, unknown> = {}) {
  return sgEvent(event, { email: r.address, recipient_id: r.id, campaign_id: campaignId, ...extra });
}

// A person clicks minutes after delivery; a link scanner within seconds (engagement_settings).
export const human = () => ({ timestamp: Math.floor(Date.now() / 1000) + 120 });

