// SMS through Twilio's Messages API: a form POST with basic auth per message, at bounded concurrency.
// The status callback URL carries our recipient id (?rid=), and in-doubt messages are looked up in
// Twilio's Messages list (by To, newest first), so a send whose answer was lost can be settled.
import { env } from "../env.ts";
import { render } from "../rendering/render.ts";
import { providerTimeoutMs } from "../limits.ts";
import {
  type ChannelProvider,
  fetchWithTimeout,
  type InDoubt,
  type LookupResult,
  networkOutcome,
  type OutboundMessage,
  outcomeForStatus,
  type SendResult,
} from "./types.ts";

function accountUrl(): string {
  return `${env("TWILIO_BASE_URL", "https://api.twilio.com")}/2010-04-01/Accounts/${env("TWILIO_ACCOUNT_SID")}`;
}

function authHeader(): string {
  return `Basic ${btoa(`${env("TWILIO_ACCOUNT_SID")}:${env("TWILIO_AUTH_TOKEN")}`)}`;
}

async function sendOne(m: OutboundMessage): Promise<SendResult> {
  const form = new URLSearchParams({ To: m.address, Body: render(m.text, m.vars) });
  const from = Deno.env.get("TWILIO_MESSAGING_SERVICE_SID");
  if (from) form.set("MessagingServiceSid", from);
  else form.set("From", env("TWILIO_FROM_NUMBER", "+15005550006"));
  const callback = Deno.env.get("PUBLIC_FUNCTIONS_URL");
  if (callback) form.set("StatusCallback", `${callback}/twilio-status?rid=${m.recipientId}`);
  try {
    const res = await fetchWithTimeout(`${accountUrl()}/Messages.json`, {
      method: "POST",
      headers: { Authorization: authHeader(), "Content-Type": "application/x-www-form-urlencoded" },
      body: form,
    }, providerTimeoutMs());
    const body = await res.json().catch(() => ({}));
    if (res.ok) return { id: m.recipientId, outcome: "sent", provider_message_id: body.sid ?? null };
    const retryAfter = Number(res.headers.get("retry-after"));
    return {
      id: m.recipientId,
      outcome: outcomeForStatus(res.status),
      error: `twilio ${res.status} ${body.code ?? ""}: ${body.message ?? ""}`.trim(),
      retry_after_seconds: res.status === 429 ? (Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1) : null,
    };
  } catch (err) {
    return { id: m.recipientId, outcome: networkOutcome(err), error: `twilio network error: ${(err as Error).message}` };
  }
}

// Twilio's list of messages to one number, newest first; a message created after the attempt
// started (less a little clock skew) with the same body is ours.
async function lookupOne(row: InDoubt, claimedSids: Set<string>): Promise<LookupResult | null> {
  const url = new URL(`${accountUrl()}/Messages.json`);
  url.searchParams.set("To", row.address);
  url.searchParams.set("PageSize", "50");
  try {
    const res = await fetchWithTimeout(url.toString(), { headers: { Authorization: authHeader() } },
      Number(env("PROVIDER_TIMEOUT_MS", "15000")));
    if (!res.ok) return null;
    const body = await res.json() as { messages?: Array<{ sid: string; to: string; body?: string; date_created?: string }> };
    const since = new Date(row.attempt_started_at).getTime() - 60_000;
    const hit = (body.messages ?? []).find((msg) =>
      !claimedSids.has(msg.sid) && msg.to === row.address && Date.parse(msg.date_created ?? "") >= since &&
      (row.body_text === null || !msg.body || sameShape(row.body_text, msg.body))
    );
    if (hit) claimedSids.add(hit.sid);
    return hit ? { id: row.recipient_id, found: true, provider_message_id: hit.sid } : { id: row.recipient_id, found: false };
  } catch {
    return null; // no answer is no evidence
  }
}

// The sent body is the template with variables filled in: the literal parts must match in order.
function sameShape(template: string, sent: string): boolean {
  const parts = template.split(/\{\{\s*[a-z_]+\s*\}\}/);
  let at = 0;
  for (const part of parts) {
    const i = sent.indexOf(part, at);
    if (i < 0) return false;
    at = i + part.length;
  }
  return true;
}

export async function mapConcurrent<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}

export const twilioProvider: ChannelProvider = {
  channel: "sms",
  maxBatch: 200,
  async send(batch) {
    return await mapConcurrent(batch, Number(env("TWILIO_CONCURRENCY", "16")), sendOne);
  },
  async lookup(rows) {
    const claimed = new Set<string>();
    const results = await mapConcurrent(rows, Number(env("TWILIO_CONCURRENCY", "16")), (r) => lookupOne(r, claimed));
    return results.filter((r): r is LookupResult => r !== null);
  },
};
