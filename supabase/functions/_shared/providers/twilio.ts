// SMS through Twilio's Messages API: a form POST with basic auth per message, at bounded concurrency.
import { env } from "../env.ts";
import { render } from "../rendering/render.ts";
import { fetchWithTimeout, type ChannelProvider, type OutboundMessage, outcomeForStatus, type SendResult } from "./types.ts";
import { providerTimeoutMs } from "../limits.ts";

async function sendOne(m: OutboundMessage): Promise<SendResult> {
  const sid = env("TWILIO_ACCOUNT_SID");
  const url = `${env("TWILIO_BASE_URL", "https://api.twilio.com")}/2010-04-01/Accounts/${sid}/Messages.json`;
  const form = new URLSearchParams({ To: m.address, Body: render(m.text, m.vars) });
  const from = Deno.env.get("TWILIO_MESSAGING_SERVICE_SID");
  if (from) form.set("MessagingServiceSid", from);
  else form.set("From", env("TWILIO_FROM_NUMBER", "+15005550006"));
  const callback = Deno.env.get("PUBLIC_FUNCTIONS_URL");
  if (callback) form.set("StatusCallback", `${callback}/twilio-status`);
  try {
    const res = await fetchWithTimeout(url, {
      method: "POST",
      headers: {
        Authorization: `Basic ${btoa(`${sid}:${env("TWILIO_AUTH_TOKEN")}`)}`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
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
    return { id: m.recipientId, outcome: "retry", error: `twilio network error: ${(err as Error).message}` };
  }
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
};
