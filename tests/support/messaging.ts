// Messaging test helpers: customers in a known consent state, campaigns, dispatcher processes.
import type { ChildProcess } from "node:child_process";
import { exited, startDeno } from "../../scripts/lib/stack.mjs";
import { afterAll, beforeEach, expect } from "vitest";
import { callFunction, createUser, fakeProvider, sql, type TestUser } from "./index.ts";

export { exited };

export interface Customer extends TestUser {
  phone: string | null;
}

let phoneSeq = Math.floor(Math.random() * 1_000_000);

// A customer with consent per channel (true, false, or undefined for no row).
export async function customerWith(opts: {
  email?: string | null;
  phone?: string | null;
  consent?: Partial<Record<"email" | "sms" | "push", boolean>>;
  name?: string;
  city?: string;
} = {}): Promise<Customer> {
  const phone = opts.phone === undefined ? `+4791${String(phoneSeq++ % 1_000_000).padStart(6, "0")}` : opts.phone;
  const user = await createUser([], { full_name: opts.name ?? "Test Customer", city: opts.city ?? "Oslo", phone });
  if (opts.email !== undefined) await sql`update public.users set email = ${opts.email} where id = ${user.id}`;
  for (const [channel, enabled] of Object.entries(opts.consent ?? {})) {
    await sql`select public.set_customer_consent(${user.id}, ${channel}, ${enabled}, 'signup')`;
  }
  const [u] = await sql`select email from public.users where id = ${user.id}`;
  return { ...user, email: u.email, phone };
}

export async function communicator(): Promise<TestUser> {
  return await createUser(["admin", "communications"]);
}

// A campaign to these customers, queued through bulk-message by a communications user (202).
export async function queueCampaign(req: {
  name: string;
  channel: "email" | "sms" | "push";
  content: { subject?: string; title?: string; text: string; html?: string };
  customerIds: string[];
  [option: string]: unknown;
}): Promise<{ campaign_id: string; queued: number }> {
  const { customerIds, ...body } = req;
  const comms = await communicator();
  const res = await callFunction("bulk-message", { jwt: comms.jwt, body: { ...body, audience: { customer_ids: customerIds } } });
  expect(res.status).toBe(202);
  return (await res.json()) as { campaign_id: string; queued: number };
}

export async function recipients(campaignId: string) {
  return await sql<Array<{ id: string; customer_id: string; status: string; attempts: number; last_error: string | null; address: string | null }>>`
    select id, customer_id, status, attempts, last_error, address from public.campaign_recipients
     where campaign_id = ${campaignId} order by customer_id`;
}

export function dispatcherEnv(): Record<string, string> {
  return { ...(process.env as Record<string, string>) };
}

// Starts a dispatcher process (scripts/dispatch-loop.ts) with the test environment.
export function startDispatcher(args: string[] = [], env: Record<string, string> = {}): ChildProcess {
  return startDeno("scripts/dispatch-loop.ts", args, { ...dispatcherEnv(), ...env }, { stdout: "pipe" });
}

// Runs one dispatcher until it has been idle for idleMs; resolves when it exits.
export async function drain(args: string[] = [], idleMs = 1500, env: Record<string, string> = {}): Promise<void> {
  const child = startDispatcher(["--max-idle-ms", String(idleMs), "--idle-sleep-ms", "100", ...args], env);
  await exited(child);
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs = 30_000, stepMs = 100): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met in ${timeoutMs} ms`);
}

// Recipient ids the fake provider received, one entry per time received.
export function receivedRecipientIds(requests: Array<{ path: string; body: any; status: number }>): string[] {
  const ids: string[] = [];
  for (const r of requests) {
    if (r.path === "/v3/mail/send") {
      for (const p of r.body?.personalizations ?? []) ids.push(p.custom_args?.recipient_id);
    } else if (r.path === "/--/api/v2/push/send") {
      for (const m of r.body ?? []) ids.push(m.data?.recipient_id);
    } else if (r.path.endsWith("/Messages.json") && (r as { method?: string }).method === "POST" && r.status === 201) {
      // the status callback URL carries the recipient id (?rid=)
      const rid = new URL(r.body?.StatusCallback ?? "http://x/").searchParams.get("rid");
      if (rid) ids.push(rid);
    }
  }
  return ids;
}

// How many times each value occurs (a recipient id received, a status).
export function tally(values: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

// How many times the fake provider received each recipient.
export async function timesReceived(): Promise<Map<string, number>> {
  return tally(receivedRecipientIds(await fakeProvider.requests()));
}

export async function clearMessagingState(): Promise<void> {
  // Campaigns of earlier tests must not be picked up by this test's dispatchers.
  await sql`update public.campaigns set status = 'cancelled' where status in ('sending', 'scheduled', 'paused')`;
  await sql`update public.campaign_recipients set status = 'cancelled' where status in ('queued', 'sending', 'in_doubt', 'held')`;
  await sql`delete from private.rate_buckets`;
  await sql`delete from public.messaging_settings`;
  // SMS quiet hours (on by default) would make SMS tests depend on the hour they run at; the tests
  // of quiet hours turn them back on
  await sql`insert into public.messaging_settings (key, value) values ('quiet_hours', '{"sms":null}')`;
}

// A messaging test file's hooks: every test starts from no active campaign and an empty fake
// provider; the file's connection closes at the end.
export function isolateMessagingTests(): void {
  afterAll(async () => {
    await sql.end();
  });
  beforeEach(async () => {
    await clearMessagingState();
    await fakeProvider.reset();
  });
}
