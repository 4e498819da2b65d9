// What every channel provider does: send a batch of rendered messages and say, per recipient,
// whether it left, should be retried (and when), or failed for good.
import type { Vars } from "../rendering/render.ts";

export interface OutboundMessage {
  recipientId: string;
  campaignId: string;
  customerId: string;
  address: string;
  subject: string | null;
  text: string;
  html: string | null;
  title: string | null;
  vars: Vars;
}

// "unknown": the request may have reached the provider but no answer came back (timeout, connection
// lost after the request was written): the recipient is in doubt and is settled from evidence.
export type SendOutcome = "sent" | "retry" | "failed" | "unknown";

export interface SendResult {
  id: string;
  outcome: SendOutcome;
  provider_message_id?: string | null;
  error?: string | null;
  retry_after_seconds?: number | null;
}

// A message in doubt that the provider could be asked about.
export interface InDoubt {
  recipient_id: string;
  address: string;
  attempt_started_at: string | Date;
  body_text: string | null;
}

// What the provider's own records say: found (it left), not found (it did not), or no answer (omitted).
export interface LookupResult {
  id: string;
  found: boolean;
  provider_message_id?: string | null;
}

export interface ChannelProvider {
  channel: "email" | "sms" | "push";
  maxBatch: number;
  send(batch: OutboundMessage[]): Promise<SendResult[]>;
  // Asks the provider which in-doubt messages it has (Twilio's Messages list); providers whose
  // evidence arrives only as events (SendGrid) have none.
  lookup?(rows: InDoubt[]): Promise<LookupResult[]>;
}

// A network error before the request could reach the provider (nothing was sent) versus one that
// may have come after it was written (timeout, reset): only the latter leaves the message in doubt.
export function networkOutcome(err: unknown): "retry" | "unknown" {
  const text = `${(err as Error)?.message ?? err} ${(err as { cause?: Error })?.cause?.message ?? ""}`;
  return /connection refused|ECONNREFUSED|dns error|failed to lookup|ENOTFOUND|EAI_AGAIN/i.test(text) ? "retry" : "unknown";
}

// How an HTTP status decides the outcome: 429 and 5xx retry, other 4xx fail for good.
export function outcomeForStatus(status: number): SendOutcome {
  if (status === 429 || status >= 500) return "retry";
  if (status >= 400) return "failed";
  return "sent";
}

export function resultsFor(batch: OutboundMessage[], result: Omit<SendResult, "id">): SendResult[] {
  return batch.map((m) => ({ id: m.recipientId, ...result }));
}

export class Timeout extends Error {}

export async function fetchWithTimeout(url: string, init: RequestInit, ms: number): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Timeout(`no answer in ${ms} ms`)), ms);
  try {
    return await fetch(url, { ...init, signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}
