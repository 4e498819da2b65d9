// The dispatcher: claim due recipients (lease, shared token bucket, consent re-checked in SQL),
// send them through the channel's provider, record the outcome. Several dispatchers may run at
// once; a dead one's leases expire and its recipients are claimed again.
import { asService } from "../db.ts";
import { preferencesUrl, unsubscribeUrl } from "./links.ts";
import { fillConfirmUrl } from "../consent/links.ts";
import type { Vars } from "./render.ts";
import { expoProvider } from "../providers/expo.ts";
import { sendgridProvider } from "../providers/sendgrid.ts";
import { twilioProvider } from "../providers/twilio.ts";
import type { ChannelProvider, OutboundMessage } from "../providers/types.ts";

export const providers: Record<string, ChannelProvider> = {
  email: sendgridProvider,
  sms: twilioProvider,
  push: expoProvider,
};

export interface DispatchOptions {
  worker: string;
  channels?: Array<"email" | "sms" | "push">;
  budgetMs?: number; // stop claiming after this long
  batchSize?: number; // per claim; capped by the provider's batch
  leaseSeconds?: number;
}

export interface DispatchTotals {
  claimed: number;
  sent: number;
  retry: number;
  failed: number;
  ignored: number;
  rounds: number;
}

interface ClaimRow {
  recipient_id: string;
  campaign_id: string;
  customer_id: string;
  address: string;
  attempts: number;
  subject: string | null;
  body_text: string;
  body_html: string | null;
  title: string | null;
  vars: Vars;
}

// One claim → send → complete round for a channel; returns how many were claimed.
export async function dispatchRound(channel: "email" | "sms" | "push", opts: DispatchOptions, totals: DispatchTotals): Promise<number> {
  const provider = providers[channel];
  const size = Math.min(opts.batchSize ?? provider.maxBatch, provider.maxBatch);
  const rows = await asService((tx) =>
    tx<ClaimRow[]>`select * from private.claim_recipients(${opts.worker}, ${channel}, ${size}, ${opts.leaseSeconds ?? null})`
  );
  if (rows.length === 0) return 0;
  const batch: OutboundMessage[] = rows.map((r) => ({
    recipientId: r.recipient_id,
    campaignId: r.campaign_id,
    customerId: r.customer_id,
    address: r.address,
    subject: r.subject,
    text: fillConfirmUrl(r.body_text, r.recipient_id) ?? "",
    html: fillConfirmUrl(r.body_html, r.recipient_id, { html: true }),
    title: r.title,
    vars: { ...r.vars, unsubscribe_url: unsubscribeUrl(r.recipient_id), preferences_url: preferencesUrl(r.customer_id) },
  }));
  const results = await provider.send(batch);
  const [done] = await asService((tx) =>
    tx<[{ c: Record<string, number> }]>`select private.complete_recipients(${opts.worker}, ${tx.json(results as never)}) as c`
  );
  totals.claimed += rows.length;
  totals.sent += done.c.sent ?? 0;
  totals.retry += done.c.retry ?? 0;
  totals.failed += done.c.failed ?? 0;
  totals.ignored += done.c.ignored ?? 0;
  totals.rounds++;
  return rows.length;
}

// Rounds over every channel until nothing is due or the budget is spent.
export async function dispatch(opts: DispatchOptions): Promise<DispatchTotals> {
  const totals: DispatchTotals = { claimed: 0, sent: 0, retry: 0, failed: 0, ignored: 0, rounds: 0 };
  const until = Date.now() + (opts.budgetMs ?? 20_000);
  const channels = opts.channels ?? ["email", "sms", "push"];
  while (Date.now() < until) {
    let claimed = 0;
    for (const channel of channels) {
      if (Date.now() >= until) break;
      claimed += await dispatchRound(channel, opts, totals);
    }
    if (claimed === 0) break;
  }
  return totals;
}
