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

export type SendOutcome = "sent" | "retry" | "failed";

export interface SendResult {
  id: string;
  outcome: SendOutcome;
  provider_message_id?: string | null;
  error?: string | null;
  retry_after_seconds?: number | null;
}

export interface ChannelProvider {
  channel: "email" | "sms" | "push";
  maxBatch: number;
  send(batch: OutboundMessage[]): Promise<SendResult[]>;
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
