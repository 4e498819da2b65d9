// Messaging test helpers: customers in a known consent state, campaigns, dispatcher processes.
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { createUser, sql, type TestUser } from "./index.ts";

const root = resolve(import.meta.dirname, "../..");

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
  return spawn(resolve(root, "node_modules/.bin/deno"), [
    "run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", "--config", "supabase/functions/deno.json",
    "scripts/dispatch-loop.ts", ...args,
  ], { cwd: root, env: { ...dispatcherEnv(), ...env }, stdio: ["ignore", "pipe", "inherit"] });
}

// Runs one dispatcher until it has been idle for idleMs; resolves when it exits.
export async function drain(args: string[] = [], idleMs = 1500, env: Record<string, string> = {}): Promise<void> {
  const child = startDispatcher(["--max-idle-ms", String(idleMs), "--idle-sleep-ms", "100", ...args], env);
  await exited(child);
}

export async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  return await new Promise((resolve) => child.on("exit", (code) => resolve(code)));
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
