// The dispatcher: claim due recipients (lease, shared token bucket, consent re-checked in SQL),
// send them through the channel's provider, record the outcome. Several dispatchers may run at
// once; a dead one's leases expire and its recipients are claimed again.
import { asService } from "../db.ts";
import { preferencesUrl, unsubscribeUrl } from "./links.ts";
import { fillConfirmUrl } from "../consent/links.ts";
import type { Vars } from "../rendering/render.ts";
import { expoProvider } from "../providers/expo.ts";
import { sendgridProvider } from "../providers/sendgrid.ts";
import { twilioProvider } from "../providers/twilio.ts";
import type { ChannelProvider, InDoubt, OutboundMessage, SendResult } from "../providers/types.ts";

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
  in_doubt: number; // provider calls that ended without an answer to trust
  reconciled: number; // in-doubt rows settled from evidence or by policy
  waiting: number; // in-doubt rows still waiting for evidence
}

// Retries a database call through a restart or a dropped connection, for up to `ms`: an outcome
// the provider already gave is worth waiting for (else the rows become in doubt).
export async function withDbRetry<T>(fn: () => Promise<T>, ms: number): Promise<T> {
  const until = Date.now() + ms;
  let wait = 100;
  while (true) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() + wait > until || !isConnectionError(err)) throw err;
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 2000);
    }
  }
}

export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return ["57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004", "CONNECTION_CLOSED", "CONNECTION_ENDED",
    "CONNECTION_DESTROYED", "CONNECT_TIMEOUT", "ECONNREFUSED", "ECONNRESET"].includes(e?.code ?? "") ||
    /connection|shutting down|starting up|ECONNREFUSED|terminat/i.test(e?.message ?? "");
}

// Settles rows left in doubt (a worker died between its provider call and recording the outcome,
// or the call timed out): evidence from provider events and, where the provider has one, a lookup
// of its message list; then the channel's policy for rows that stay without evidence.
export async function reconcileRound(channel: "email" | "sms" | "push", opts: DispatchOptions, totals: DispatchTotals): Promise<void> {
  const provider = providers[channel];
  let lookups: unknown[] = [];
  if (provider.lookup) {
    const rows = await asService((tx) => tx<InDoubt[]>`select * from private.in_doubt_lookups(${channel}, 200)`);
    if (rows.length > 0) lookups = await provider.lookup(rows);
  }
  const [r] = await asService((tx) =>
    tx<[{ r: Record<string, number> }]>`select private.resolve_in_doubt(${opts.worker}, ${channel}, ${tx.json(lookups as never)}) as r`
  );
  totals.reconciled += (r.r.sent ?? 0) + (r.r.resent ?? 0) + (r.r.held ?? 0);
  totals.waiting += r.r.waiting ?? 0;
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

let ttlCache: { days: number; at: number } | undefined;
async function linkTtlDays(): Promise<number> {
  if (!ttlCache || Date.now() - ttlCache.at > 60_000) {
    const [row] = await asService((tx) => tx<[{ d: number }]>`select private.unsubscribe_link_ttl_days() as d`);
    ttlCache = { days: row.d, at: Date.now() };
  }
  return ttlCache.days;
}

// One claim → send → complete round for a channel; returns how many were claimed.
export async function dispatchRound(channel: "email" | "sms" | "push", opts: DispatchOptions, totals: DispatchTotals): Promise<number> {
  const provider = providers[channel];
  const size = Math.min(opts.batchSize ?? provider.maxBatch, provider.maxBatch);
  const rows = await asService((tx) =>
    tx<ClaimRow[]>`select * from private.claim_recipients(${opts.worker}, ${channel}, ${size}, ${opts.leaseSeconds ?? null})`
  );
  if (rows.length === 0) return 0;
  const ttlDays = await linkTtlDays();
  const batch: OutboundMessage[] = rows.map((r) => ({
    recipientId: r.recipient_id,
    campaignId: r.campaign_id,
    customerId: r.customer_id,
    address: r.address,
    subject: r.subject,
    text: fillConfirmUrl(r.body_text, r.recipient_id) ?? "",
    html: fillConfirmUrl(r.body_html, r.recipient_id, { html: true }),
    title: r.title,
    vars: { ...r.vars, unsubscribe_url: unsubscribeUrl(r.recipient_id, r.campaign_id, ttlDays), preferences_url: preferencesUrl(r.customer_id) },
  }));
  const results = await provider.send(batch);
  const unknown = results.filter((r) => r.outcome === "unknown");
  const known = results.filter((r) => r.outcome !== "unknown");
  const leaseMs = (opts.leaseSeconds ?? 60) * 1000;
  if (unknown.length > 0) {
    await withDbRetry(() => asService((tx) => tx`select private.mark_attempt_unknown(${opts.worker}, ${tx.json(unknown as never)})`), leaseMs);
    totals.in_doubt += unknown.length;
  }
  const [done] = await withDbRetry(() => asService((tx) =>
    tx<[{ c: Record<string, number> }]>`select private.complete_recipients(${opts.worker}, ${tx.json(known as never)}) as c`
  ), leaseMs);
  if ((done.c.ignored ?? 0) > 0) {
    // our lease ran out while the provider answered: the answer still settles our own attempt
    await asService((tx) => tx`select private.complete_late(${opts.worker}, ${tx.json(known as SendResult[] as never)})`);
  }
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
  const totals: DispatchTotals = { claimed: 0, sent: 0, retry: 0, failed: 0, ignored: 0, rounds: 0, in_doubt: 0, reconciled: 0, waiting: 0 };
  const until = Date.now() + (opts.budgetMs ?? 20_000);
  const channels = opts.channels ?? ["email", "sms", "push"];
  // in-doubt rows are settled before anything new is claimed
  for (const channel of channels) await reconcileRound(channel, opts, totals);
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
