// Email through SendGrid's v3 mail/send with @sendgrid/mail: one call per campaign batch of up
// to 1,000 personalizations, custom_args carrying the recipient and campaign ids. The base URL
// comes from configuration, so the fake provider and the real one differ only there.
import client from "@sendgrid/client";
import mail from "@sendgrid/mail";
import { env } from "../env.ts";
import { substitutions, toSubstitutionTemplate } from "../rendering/render.ts";
import { type ChannelProvider, networkOutcome, type OutboundMessage, outcomeForStatus, resultsFor, type SendResult } from "./types.ts";
import { providerTimeoutMs, SENDGRID_BATCH } from "../limits.ts";

let configured = false;
function configure(): void {
  if (configured) return;
  client.setApiKey(env("SENDGRID_API_KEY"));
  client.setDefaultRequest("baseUrl", env("SENDGRID_BASE_URL", "https://api.sendgrid.com"));
  client.setDefaultRequest("timeout" as never, providerTimeoutMs() as never);
  mail.setClient(client);
  configured = true;
}

// Seconds to wait from SendGrid's X-RateLimit-Reset (epoch seconds), or Retry-After.
export function retryAfterFromHeaders(headers: Record<string, string | string[] | undefined> | undefined): number | null {
  if (!headers) return null;
  const get = (k: string) => {
    const v = headers[k] ?? headers[k.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  };
  const reset = Number(get("x-ratelimit-reset"));
  if (Number.isFinite(reset) && reset > 0) return Math.max(1, Math.ceil(reset - Date.now() / 1000));
  const after = Number(get("retry-after"));
  if (Number.isFinite(after) && after >= 0) return Math.max(1, after);
  return null;
}

async function sendCampaignBatch(batch: OutboundMessage[]): Promise<SendResult[]> {
  const first = batch[0];
  const html = first.html ? toSubstitutionTemplate(first.html, { html: true }) : undefined;
  try {
    const [response] = await mail.send({
      from: { email: env("SENDGRID_FROM_EMAIL", "crm@rental.test"), name: env("SENDGRID_FROM_NAME", "Rental CRM") },
      subject: toSubstitutionTemplate(first.subject ?? ""),
      content: [
        { type: "text/plain", value: toSubstitutionTemplate(first.text) },
        ...(html ? [{ type: "text/html", value: html }] : []),
      ],
      personalizations: batch.map((m) => ({
        to: [{ email: m.address }],
        substitutions: substitutions(m.vars),
        customArgs: { recipient_id: m.recipientId, campaign_id: m.campaignId },
        // RFC 8058 one-click: mailbox providers POST "List-Unsubscribe=One-Click" to the HTTPS link
        headers: { "List-Unsubscribe": `<${m.vars.unsubscribe_url ?? ""}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" },
      })),
      trackingSettings: { clickTracking: { enable: true }, openTracking: { enable: true } },
    } as never);
    const messageId = (response.headers as Record<string, string>)["x-message-id"] ?? null;
    return resultsFor(batch, { outcome: "sent", provider_message_id: messageId });
  } catch (err) {
    const e = err as { code?: number; message?: string; response?: { headers?: Record<string, string>; body?: unknown } };
    const status = typeof e.code === "number" ? e.code : 0;
    const outcome = status === 0 ? networkOutcome(err) : outcomeForStatus(status);
    const detail = e.response?.body ? JSON.stringify(e.response.body).slice(0, 500) : e.message;
    return resultsFor(batch, {
      outcome,
      error: `sendgrid ${status || "network error"}: ${detail}`,
      retry_after_seconds: status === 429 ? retryAfterFromHeaders(e.response?.headers) ?? 1 : null,
    });
  }
}

export const sendgridProvider: ChannelProvider = {
  channel: "email",
  maxBatch: SENDGRID_BATCH,
  async send(batch) {
    configure();
    // one API call per campaign: the content is the campaign's, the personalizations vary
    const byCampaign = new Map<string, OutboundMessage[]>();
    for (const m of batch) byCampaign.set(m.campaignId, [...(byCampaign.get(m.campaignId) ?? []), m]);
    const results: SendResult[] = [];
    for (const group of byCampaign.values()) {
      for (let i = 0; i < group.length; i += SENDGRID_BATCH) results.push(...(await sendCampaignBatch(group.slice(i, i + SENDGRID_BATCH))));
    }
    return results;
  },
};
