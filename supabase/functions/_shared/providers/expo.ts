// Push through Expo's push service: batches of up to 100 messages in one POST. Chosen over FCM
// HTTP v1 because it reaches iOS and Android through one API keyed by a push token, with no
// OAuth service-account exchange (which would also be unreachable from here).
import { env } from "../env.ts";
import { render } from "../rendering/render.ts";
import { fetchWithTimeout, type ChannelProvider, networkOutcome, outcomeForStatus, resultsFor, type SendResult } from "./types.ts";
import { EXPO_BATCH, providerTimeoutMs } from "../limits.ts";

export const expoProvider: ChannelProvider = {
  channel: "push",
  maxBatch: EXPO_BATCH,
  async send(batch) {
    const results: SendResult[] = [];
    for (let i = 0; i < batch.length; i += EXPO_BATCH) {
      const chunk = batch.slice(i, i + EXPO_BATCH);
      const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json" };
      const token = Deno.env.get("EXPO_ACCESS_TOKEN");
      if (token) headers.Authorization = `Bearer ${token}`;
      try {
        const res = await fetchWithTimeout(`${env("EXPO_PUSH_BASE_URL", "https://exp.host")}/--/api/v2/push/send`, {
          method: "POST",
          headers,
          body: JSON.stringify(chunk.map((m) => ({
            to: m.address,
            title: m.title ? render(m.title, m.vars) : undefined,
            body: render(m.text, m.vars),
            data: { recipient_id: m.recipientId, campaign_id: m.campaignId },
          }))),
        }, providerTimeoutMs());
        const body = await res.json().catch(() => ({}));
        if (!res.ok) {
          const retryAfter = Number(res.headers.get("retry-after"));
          results.push(...resultsFor(chunk, {
            outcome: outcomeForStatus(res.status),
            error: `expo ${res.status}: ${JSON.stringify(body).slice(0, 300)}`,
            retry_after_seconds: res.status === 429 ? (Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1) : null,
          }));
          continue;
        }
        const tickets = (body.data ?? []) as Array<{ status: string; id?: string; message?: string }>;
        chunk.forEach((m, j) => {
          const t = tickets[j];
          results.push(t?.status === "ok"
            ? { id: m.recipientId, outcome: "sent", provider_message_id: t.id ?? null }
            : { id: m.recipientId, outcome: "failed", error: `expo: ${t?.message ?? "no ticket"}` });
        });
      } catch (err) {
        results.push(...resultsFor(chunk, { outcome: networkOutcome(err), error: `expo network error: ${(err as Error).message}` }));
      }
    }
    return results;
  },
};
