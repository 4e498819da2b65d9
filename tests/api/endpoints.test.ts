// Every row of the README's endpoint tables, run for real: supabase-js (the typed client of
// types/database.ts) -> the API gateway -> the real PostgREST 12.0.2 (or the edge functions), as
// admin + communications (ada), admin without communications (alan), customer (cora) and anon.
// `cases` is keyed by the first column of the README's tables; readme-table.test.ts checks that
// the README's rows and these keys are the same set (the last test below).
//
// Refusals follow docs/errors.md (PT409 for the customer's own opt-out, validate_segment
// admin-only, anon without the campaign views).
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "../support/index.ts";
import { API_URL, clients, SEEDED, tokenFor, userByEmail, type Client, type Persona } from "../support/api.ts";

let c: Record<Persona, Client>;
let cora: { id: string; email: string };
let other: string; // a seeded customer that is not cora
let tagId: string;
let segmentId: string;
const created: { tags: string[]; segments: string[] } = { tags: [], segments: [] };

const cityRule = (city: string) => ({ version: 1, combinator: "and", rules: [{ field: "city", operator: "=", value: city }] });

interface PgResult { error: { code: string; message: string } | null; status: number; data?: unknown }

function refused(res: PgResult, status: number, code: string): void {
  expect(res.error, `expected ${status} ${code}, got ${res.status} ${JSON.stringify(res.data)}`).not.toBeNull();
  expect({ status: res.status, code: res.error!.code }).toEqual({ status, code });
  expect(res.error!.message.length).toBeGreaterThan(0);
}

function refusedOneOf(res: PgResult, allowed: Array<[number, string]>): void {
  expect(res.error, `expected a refusal, got ${res.status}`).not.toBeNull();
  expect(allowed.map(([st, code]) => `${st} ${code}`)).toContain(`${res.status} ${res.error!.code}`);
}

function ok<T extends PgResult>(res: T): T {
  expect(res.error, JSON.stringify(res.error)).toBeNull();
  expect(res.status).toBeLessThan(300);
  return res;
}

// anon is refused by the database's grants: 42501 reaches supabase-js as 401.
const anonRefused = (res: PgResult) => refused(res, 401, "42501");
// a signed-in user without the role: 42501 as 403.
const forbidden = (res: PgResult) => refused(res, 403, "42501");

async function invoke(persona: Persona, name: string, body: Record<string, unknown>) {
  const { data, error } = await c[persona].functions.invoke(name, { body });
  const status = error ? ((error as { context?: Response }).context?.status ?? 0) : 200;
  const payload = error ? await (error as { context?: Response }).context?.json().catch(() => null) : data;
  return { status, data: payload as Record<string, any> | null };
}

beforeAll(async () => {
  c = await clients();
  cora = await userByEmail(SEEDED.customer);
  [{ id: other }] = await sql<{ id: string }[]>`
    select u.id from public.users u where u.email like '%@example.%' and not exists (select 1 from public.user_roles r where r.user_id = u.id)
      and u.id <> ${cora.id} and exists (select 1 from public.bookings b where b.customer_id = u.id)
      and exists (select 1 from public.customer_notes n where n.customer_id = u.id)
      and exists (select 1 from public.customer_consent k where k.customer_id = u.id) order by u.id limit 1`;
  [{ id: tagId }] = await sql<{ id: string }[]>`select id from public.customer_tags where name = 'VIP'`;
  [{ id: segmentId }] = await sql<{ id: string }[]>`select id from public.customer_segments where name = 'Newsletter readers'`;
});

afterAll(async () => {
  await sql`delete from public.customer_tags where id = any(${created.tags}::uuid[])`;
  await sql`delete from public.customer_segments where id = any(${created.segments}::uuid[])`;
});

// A view for staff only: both staff personas find `expected` in the column `key`, a customer reads
// no rows, anon is refused.
async function staffOnlyView(view: "segment_manager" | "cron_job_health", key: string, expected: string): Promise<void> {
  for (const p of ["comms", "admin"] as const) {
    const rows = ok(await c[p].from(view).select("*").order(key)).data as Record<string, unknown>[];
    expect(rows.map((r) => r[key])).toContain(expected);
  }
  expect(ok(await c.customer.from(view).select("*")).data).toEqual([]);
  anonRefused(await c.anon.from(view).select("*"));
}

// A delete only staff may make: a customer deletes nothing, anon is refused, `staff` deletes the row.
async function staffOnlyDelete(table: "customer_tags" | "customer_segments", id: string, staff: "comms" | "admin"): Promise<void> {
  expect(ok(await c.customer.from(table).delete().eq("id", id).select()).data).toEqual([]);
  anonRefused(await c.anon.from(table).delete().eq("id", id));
  expect(ok(await c[staff].from(table).delete().eq("id", id).select()).data).toHaveLength(1);
}

// A campaign recipient to prove: any, or one made for the purpose.
async function anyRecipient(): Promise<string> {
  const [r] = await sql<{ id: string }[]>`select id from public.campaign_recipients order by created_at desc limit 1`;
  if (r) return r.id;
  const [camp] = await sql<{ id: string }[]>`insert into public.campaigns (name, channel, status, content, audience)
    values ('Proof fixture', 'email', 'draft', '{"subject":"s","text":"t"}', '{}') returning id`;
  const [made] = await sql<{ id: string }[]>`insert into public.campaign_recipients (campaign_id, customer_id, channel, status)
    values (${camp.id}, ${cora.id}, 'email', 'skipped_no_consent') returning id`;
  return made.id;
}

const cases: Record<string, () => Promise<void>> = {
  "`GET /api/admin/customers/{id}/timeline`": async () => {
    const args = { customer_id: other, event_types: ["booking", "payment"], page_size: 50 };
    for (const p of ["comms", "admin"] as const) {
      const { data } = ok(await c[p].rpc("customer_timeline", args));
      const page = data as { events: Array<{ event_type: string }> };
      expect(page.events.length).toBeGreaterThan(0);
      expect(page.events.every((e) => ["booking", "payment"].includes(e.event_type))).toBe(true);
    }
    forbidden(await c.customer.rpc("customer_timeline", { customer_id: cora.id }));
    anonRefused(await c.anon.rpc("customer_timeline", args));
    refused(await c.comms.rpc("customer_timeline", { ...args, page_size: 0 }), 400, "22023");
  },

  "timeline CSV export": async () => {
    const get = async (persona: "comms" | "admin" | "customer" | null) => await fetch(
      `${API_URL}/functions/v1/timeline-export?customer_id=${other}&types=booking,note&since=2020-01-01`,
      { headers: persona ? { Authorization: `Bearer ${await tokenFor(persona)}` } : {} });
    for (const p of ["comms", "admin"] as const) {
      const res = await get(p);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/csv");
      expect((await res.text()).split("\n")[0]).toContain("occurred_at");
    }
    const customer = await get("customer");
    expect(customer.status).toBe(403);
    expect((await customer.json()).error.code).toBe("forbidden");
    const anon = await get(null);
    expect(anon.status).toBe(401);
    await anon.json();
  },

  "`GET /api/admin/customers/{id}/notes`": async () => {
    for (const p of ["comms", "admin"] as const) {
      const { data } = ok(await c[p].from("customer_notes").select("*").eq("customer_id", other).order("created_at", { ascending: false }));
      expect(data!.length).toBeGreaterThan(0);
    }
    // a customer sees their own shared notes only, nobody else's
    const own = ok(await c.customer.from("customer_notes").select("*").eq("customer_id", cora.id)).data!;
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((n) => n.visibility === "shared")).toBe(true);
    expect(ok(await c.customer.from("customer_notes").select("*").eq("customer_id", other)).data).toEqual([]);
    anonRefused(await c.anon.from("customer_notes").select("*").eq("customer_id", other));
  },

  "`POST /api/admin/customers/{id}/notes`": async () => {
    const note = { customer_id: other, note: `called about the excavator ${randomUUID()}`, type: "info", visibility: "internal" };
    for (const p of ["comms", "admin"] as const) {
      const { data } = ok(await c[p].from("customer_notes").insert(note).select().single());
      expect(data).toMatchObject({ customer_id: other, note: note.note });
    }
    forbidden(await c.customer.from("customer_notes").insert({ ...note, customer_id: cora.id }));
    anonRefused(await c.anon.from("customer_notes").insert(note));
    refused(await c.admin.from("customer_notes").insert({ ...note, type: "gossip" }), 400, "23514");
  },

  "`GET /api/admin/customers/{id}/tags`": async () => {
    const [{ id: tagged }] = await sql<{ id: string }[]>`select customer_id as id from public.customer_tag_members limit 1`;
    for (const p of ["comms", "admin"] as const) {
      const { data } = ok(await c[p].from("customer_tag_members").select("tag_id, assigned_at, customer_tags(name, color)").eq("customer_id", tagged));
      expect(data!.length).toBeGreaterThan(0);
      expect(data![0].customer_tags).toHaveProperty("name");
    }
    expect(ok(await c.customer.from("customer_tag_members").select("tag_id").eq("customer_id", tagged)).data).toEqual([]);
    anonRefused(await c.anon.from("customer_tag_members").select("tag_id").eq("customer_id", tagged));
  },

  "`POST /api/admin/customers/{id}/tags`": async () => {
    await sql`delete from public.customer_tag_members where customer_id = ${other} and tag_id = ${tagId}`;
    ok(await c.admin.from("customer_tag_members").insert({ customer_id: other, tag_id: tagId }));
    refused(await c.comms.from("customer_tag_members").insert({ customer_id: other, tag_id: tagId }), 409, "23505");
    forbidden(await c.customer.from("customer_tag_members").insert({ customer_id: cora.id, tag_id: tagId }));
    anonRefused(await c.anon.from("customer_tag_members").insert({ customer_id: other, tag_id: tagId }));
  },

  "`DELETE /api/admin/customers/{id}/tags`": async () => {
    await sql`insert into public.customer_tag_members (customer_id, tag_id) values (${other}, ${tagId}) on conflict do nothing`;
    // the customer's delete matches no row they may see: nothing is deleted
    ok(await c.customer.from("customer_tag_members").delete().match({ customer_id: other, tag_id: tagId }));
    anonRefused(await c.anon.from("customer_tag_members").delete().match({ customer_id: other, tag_id: tagId }));
    expect((await sql`select 1 from public.customer_tag_members where customer_id = ${other} and tag_id = ${tagId}`).length).toBe(1);
    const { data } = ok(await c.admin.from("customer_tag_members").delete().match({ customer_id: other, tag_id: tagId }).select());
    expect(data).toHaveLength(1);
  },

  "`GET /api/admin/customer-tags`": async () => {
    for (const p of ["comms", "admin"] as const) {
      const names = ok(await c[p].from("customer_tags").select("*").order("name")).data!.map((t) => t.name);
      expect(names).toContain("VIP");
      expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    expect(ok(await c.customer.from("customer_tags").select("*")).data).toEqual([]);
    anonRefused(await c.anon.from("customer_tags").select("*"));
  },

  "`POST /api/admin/customer-tags`": async () => {
    const name = `Tag ${randomUUID().slice(0, 8)}`;
    const { data } = ok(await c.admin.from("customer_tags").insert({ name, color: "#D4AF37", description: "from the API test" }).select().single());
    created.tags.push(data!.id);
    refused(await c.comms.from("customer_tags").insert({ name: name.toUpperCase(), color: "#D4AF37" }), 409, "23505");
    refused(await c.comms.from("customer_tags").insert({ name: `${name} 2`, color: "gold" }), 400, "23514");
    forbidden(await c.customer.from("customer_tags").insert({ name: `${name} 3`, color: "#D4AF37" }));
    anonRefused(await c.anon.from("customer_tags").insert({ name: `${name} 4`, color: "#D4AF37" }));
  },

  "`PATCH /api/admin/customer-tags`": async () => {
    const [{ id }] = await sql<{ id: string }[]>`insert into public.customer_tags (name, color) values (${`Patch ${randomUUID().slice(0, 8)}`}, '#000000') returning id`;
    created.tags.push(id);
    expect(ok(await c.customer.from("customer_tags").update({ color: "#FFFFFF" }).eq("id", id).select()).data).toEqual([]);
    anonRefused(await c.anon.from("customer_tags").update({ color: "#FFFFFF" }).eq("id", id));
    const { data } = ok(await c.admin.from("customer_tags").update({ color: "#0EA5E9" }).eq("id", id).select().single());
    expect(data!.color).toBe("#0EA5E9");
    refused(await c.comms.from("customer_tags").update({ color: "blue" }).eq("id", id), 400, "23514");
  },

  "`DELETE /api/admin/customer-tags`": async () => {
    const [{ id }] = await sql<{ id: string }[]>`insert into public.customer_tags (name, color) values (${`Delete ${randomUUID().slice(0, 8)}`}, '#000000') returning id`;
    created.tags.push(id);
    await staffOnlyDelete("customer_tags", id, "comms");
  },

  "`GET /api/admin/customers/{id}/consent`": async () => {
    for (const p of ["comms", "admin"] as const) {
      const { data } = ok(await c[p].from("customer_consent").select("channel, enabled, granted_at, revoked_at, source").eq("customer_id", other));
      expect(data!.length).toBeGreaterThan(0);
    }
    expect(ok(await c.customer.from("customer_consent").select("channel").eq("customer_id", cora.id)).data!.length).toBeGreaterThan(0);
    expect(ok(await c.customer.from("customer_consent").select("channel").eq("customer_id", other)).data).toEqual([]);
    anonRefused(await c.anon.from("customer_consent").select("channel").eq("customer_id", other));
  },

  "`PATCH /api/admin/customers/{id}/consent`": async () => {
    const { data } = ok(await c.admin.rpc("set_customer_consent", { customer_id: other, channel: "sms", enabled: false, source: "admin", note: "asked by phone" }));
    expect(data).toMatchObject({ channel: "sms", enabled: false });
    refused(await c.admin.rpc("set_customer_consent", { customer_id: other, channel: "fax", enabled: true }), 400, "22023");
    anonRefused(await c.anon.rpc("set_customer_consent", { customer_id: other, channel: "sms", enabled: true }));
    // the customer's own opt-out wins over staff unless overridden (the refusal: see pending below)
    ok(await c.customer.rpc("set_customer_consent", { customer_id: cora.id, channel: "sms", enabled: false }));
    expect((await c.admin.rpc("set_customer_consent", { customer_id: cora.id, channel: "sms", enabled: true, source: "admin" })).error).not.toBeNull();
    ok(await c.admin.rpc("set_customer_consent", { customer_id: cora.id, channel: "sms", enabled: true, source: "admin", override_opt_out: true, note: "asked in the shop, signed form" }));
  },

  "`GET /api/admin/customers/segments`": async () => {
    await staffOnlyView("segment_manager", "name", "Newsletter readers");
  },

  "`POST /api/admin/customers/segments`": async () => {
    const seg = { name: `Oslo ${randomUUID().slice(0, 8)}`, description: "API test", definition: cityRule("Oslo"), auto_refresh: false };
    const { data } = ok(await c.admin.from("customer_segments").insert(seg).select().single());
    created.segments.push(data!.id);
    expect(data).toMatchObject({ name: seg.name });
    refused(await c.admin.from("customer_segments").insert({ ...seg, name: `${seg.name} bad`, definition: { version: 1, combinator: "and", rules: [{ field: "no_such_field", operator: "=", value: 1 }] } }), 400, "22023");
    forbidden(await c.customer.from("customer_segments").insert(seg));
    anonRefused(await c.anon.from("customer_segments").insert(seg));
  },

  "`DELETE /api/admin/customers/segments`": async () => {
    const [{ id }] = await sql<{ id: string }[]>`insert into public.customer_segments (name, definition) values (${`Del ${randomUUID().slice(0, 8)}`}, ${sql.json(cityRule("Bergen") as never)}) returning id`;
    created.segments.push(id);
    await staffOnlyDelete("customer_segments", id, "admin");
  },

  "`POST /api/admin/customers/segments/evaluate`": async () => {
    for (const p of ["comms", "admin"] as const) {
      const { data } = ok(await c[p].rpc("evaluate_segment", { definition: cityRule("Oslo"), page_size: 50 }));
      expect((data as { members: unknown[] }).members.length).toBeGreaterThan(0);
    }
    forbidden(await c.customer.rpc("evaluate_segment", { definition: cityRule("Oslo") }));
    anonRefused(await c.anon.rpc("evaluate_segment", { definition: cityRule("Oslo") }));
    refused(await c.admin.rpc("evaluate_segment", { definition: { version: 1, combinator: "xor", rules: [] } }), 400, "22023");
    const { data: v } = ok(await c.admin.rpc("validate_segment", { definition: cityRule("Oslo") }));
    expect(v).toEqual([]);
  },

  "`POST /api/admin/communications/audience`": async () => {
    const body = { audience: { segment_id: segmentId } };
    const r = await invoke("comms", "communications-audience", body);
    expect(r.status).toBe(200);
    expect(r.data).toHaveProperty("count");
    expect((await invoke("admin", "communications-audience", body)).status).toBe(403);
    expect((await invoke("customer", "communications-audience", body)).status).toBe(403);
    // anon (the publishable key, no user): the function refuses it as it refuses a customer
    expect((await invoke("anon", "communications-audience", body)).status).toBe(403);
    expect((await invoke("comms", "communications-audience", { audience: { segment_id: "not-a-uuid" } })).status).toBe(400);
  },

  "`POST /api/admin/communications/bulk-message`": async () => {
    const body = { name: `API test ${randomUUID().slice(0, 8)}`, channel: "email", content: { subject: "Hello {{first_name}}", text: "Hi" }, audience: { segment_id: segmentId } };
    const r = await invoke("comms", "bulk-message", body);
    expect(r.status).toBeLessThan(300);
    expect(r.data).toHaveProperty("campaign_id");
    await sql`update public.campaigns set status = 'cancelled' where id = ${r.data!.campaign_id} and status not in ('sent', 'cancelled')`;
    expect((await invoke("admin", "bulk-message", body)).status).toBe(403);
    expect((await invoke("customer", "bulk-message", body)).status).toBe(403);
    expect((await invoke("anon", "bulk-message", body)).status).toBe(403);
    expect((await invoke("comms", "bulk-message", { ...body, channel: "fax" })).status).toBe(400);
    // with an Idempotency-Key, a retry answers the first answer
    const headers = { "Idempotency-Key": randomUUID() };
    const once = { ...body, name: `${body.name} once` };
    const first = await c.comms.functions.invoke("bulk-message", { body: once, headers });
    const again = await c.comms.functions.invoke("bulk-message", { body: once, headers });
    expect(first.error).toBeNull();
    expect(again.data).toEqual(first.data);
    await sql`update public.campaigns set status = 'cancelled' where id = ${first.data.campaign_id} and status not in ('sent', 'cancelled')`;
  },

  // --- Beyond the seed's endpoints ---
  "customer summary header": async () => {
    for (const p of ["comms", "admin"] as const) {
      const { data } = ok(await c[p].rpc("customer_summary", { customer_id: other }));
      expect(data).toHaveProperty("risk");
    }
    forbidden(await c.customer.rpc("customer_summary", { customer_id: cora.id }));
    anonRefused(await c.anon.rpc("customer_summary", { customer_id: other }));
  },

  "override / clear the risk": async () => {
    const { data } = ok(await c.admin.rpc("override_risk", { customer_id: other, score: 10, reason: "Disputed charges settled", expires_at: undefined }));
    expect(data).toMatchObject({ customer_id: other });
    refused(await c.admin.rpc("override_risk", { customer_id: other, score: 10, reason: "   " }), 400, "22023");
    refused(await c.admin.rpc("override_risk", { customer_id: other, score: 150, reason: "too high" }), 400, "22023");
    forbidden(await c.customer.rpc("override_risk", { customer_id: cora.id, score: 0, reason: "me" }));
    anonRefused(await c.anon.rpc("override_risk", { customer_id: other, score: 0, reason: "x" }));
    ok(await c.comms.rpc("clear_risk_override", { customer_id: other }));
    forbidden(await c.customer.rpc("clear_risk_override", { customer_id: cora.id }));
  },

  "explain a score": async () => {
    await sql`select private.run_nightly_scoring()`;
    for (const p of ["comms", "admin"] as const) {
      const { data } = ok(await c[p].from("customer_score_history").select("*").eq("customer_id", other).order("scored_at", { ascending: false }));
      expect(data!.length).toBeGreaterThan(0);
    }
    expect(ok(await c.customer.from("customer_score_history").select("*").eq("customer_id", cora.id)).data).toEqual([]);
    anonRefused(await c.anon.from("customer_score_history").select("*"));
  },

  "thresholds and weights": async () => {
    const [{ value }] = await sql<{ value: string }[]>`select value::text as value from public.scoring_settings where key = 'vip_lifetime_value'`;
    try {
      const { data } = ok(await c.admin.from("scoring_settings").update({ value: 15000 }).eq("key", "vip_lifetime_value").select().single());
      expect(Number(data!.value)).toBe(15000);
      refused(await c.admin.from("scoring_settings").update({ value: -1 }).eq("key", "vip_lifetime_value"), 400, "22023");
      expect(ok(await c.customer.from("scoring_settings").update({ value: 1 }).eq("key", "vip_lifetime_value").select()).data).toEqual([]);
      anonRefused(await c.anon.from("scoring_settings").update({ value: 1 }).eq("key", "vip_lifetime_value"));
    } finally {
      await sql`update public.scoring_settings set value = ${value}::numeric where key = 'vip_lifetime_value'`;
    }
  },

  "threshold alerts": async () => {
    const [{ id }] = await sql<{ id: string }[]>`insert into public.alerts (kind, severity, title, customer_id) values ('api_test', 'info', 'API test alert', ${other}) returning id`;
    for (const p of ["comms", "admin"] as const) {
      expect(ok(await c[p].from("alerts").select("*").is("acknowledged_at", null)).data!.some((a) => a.id === id)).toBe(true);
    }
    expect(ok(await c.customer.from("alerts").select("*")).data).toEqual([]);
    anonRefused(await c.anon.from("alerts").select("*"));
    forbidden(await c.customer.rpc("acknowledge_alert", { alert_id: id }));
    ok(await c.admin.rpc("acknowledge_alert", { alert_id: id }));
    const [{ acknowledged_at }] = await sql`select acknowledged_at from public.alerts where id = ${id}`;
    expect(acknowledged_at).not.toBeNull();
    await sql`delete from public.alerts where id = ${id}`;
  },

  "nightly job health": async () => {
    await staffOnlyView("cron_job_health", "jobname", "crm_score_customers");
  },

  "validate / explain a segment": async () => {
    for (const p of ["comms", "admin"] as const) {
      const { data } = ok(await c[p].rpc("explain_segment_membership", { definition: cityRule("Oslo"), customer_id: other }));
      expect(data).toHaveProperty("member");
    }
    forbidden(await c.customer.rpc("explain_segment_membership", { definition: cityRule("Oslo"), customer_id: cora.id }));
    anonRefused(await c.anon.rpc("explain_segment_membership", { definition: cityRule("Oslo"), customer_id: other }));
    const { data } = ok(await c.admin.rpc("validate_segment", { definition: { version: 1, combinator: "and", rules: [{ field: "nope", operator: "=", value: 1 }] } }));
    expect((data as unknown[]).length).toBeGreaterThan(0);
  },

  "duplicate / refresh a segment": async () => {
    const { data: copy } = ok(await c.admin.rpc("duplicate_segment", { segment_id: segmentId, name: undefined }));
    created.segments.push(copy as string);
    expect(typeof copy).toBe("string");
    ok(await c.comms.rpc("refresh_segment", { segment_id: copy as string }));
    forbidden(await c.customer.rpc("duplicate_segment", { segment_id: segmentId }));
    anonRefused(await c.anon.rpc("refresh_segment", { segment_id: segmentId }));
  },

  "customer list with filters": async () => {
    for (const p of ["comms", "admin"] as const) {
      const { data } = ok(await c[p].rpc("list_customers", { definition: cityRule("Oslo"), page_size: 50 }));
      const customers = (data as { customers: { city: string | null }[] }).customers;
      expect(customers.length).toBeGreaterThan(0);
      expect(customers.every((x) => x.city?.toLowerCase() === "oslo")).toBe(true);
    }
    expect(ok(await c.admin.from("admin_customers").select("customer_id, full_name").limit(5)).data).toHaveLength(5);
    forbidden(await c.customer.rpc("list_customers", { page_size: 5 }));
    anonRefused(await c.anon.rpc("list_customers", { page_size: 5 }));
  },

  "preview a message for one customer": async () => {
    const [{ id: templateId }] = await sql<{ id: string }[]>`select id from public.message_templates where channel = 'email' limit 1`;
    const body = { customer_id: other, channel: "email", template_id: templateId };
    const r = await invoke("comms", "message-preview", body);
    expect(r.status).toBe(200);
    const preview = r.data as { channel: string; subject: string; text: string };
    expect(preview.channel).toBe("email");
    expect(preview.subject.length).toBeGreaterThan(0);
    expect(preview.text.length).toBeGreaterThan(0);
    expect(`${preview.subject}${preview.text}`).not.toContain("{{"); // every variable rendered
    expect((await invoke("admin", "message-preview", body)).status).toBe(403);
    expect((await invoke("customer", "message-preview", body)).status).toBe(403);
    expect((await invoke("anon", "message-preview", body)).status).toBe(403);
    expect((await invoke("comms", "message-preview", { ...body, channel: "sms" })).status).toBe(400);
  },

  "limits of a message request": async () => {
    const rules = ok(await c.comms.rpc("messaging_rules")).data as { content: { sms: { text: { max_chars: number } } } };
    expect(rules.content.sms.text.max_chars).toBeGreaterThan(0);
    ok(await c.comms.rpc("check_message_content", { channel: "sms", content: { text: "hi {{first_name}}" } }));
    refused(await c.comms.rpc("check_message_content", { channel: "sms", content: { text: "hi", subject: "s" } }), 400, "22023");
    anonRefused(await c.anon.rpc("check_message_content", { channel: "sms", content: { text: "hi" } }));
  },

  "register a device's push token (customer app)": async () => {
    const t = `ExponentPushToken[${randomUUID().replaceAll("-", "")}]`;
    expect(ok(await c.customer.rpc("register_push_token", { token: t, platform: "ios" })).data).toEqual({ token: t, registered: true });
    expect(ok(await c.customer.from("customer_push_tokens").select("token").eq("token", t)).data).toEqual([{ token: t }]);
    forbidden(await c.customer.from("customer_push_tokens").insert({ customer_id: cora.id, token: `${t.slice(0, -1)}x]` }));
    ok(await c.customer.rpc("unregister_push_token", { token: t }));
    anonRefused(await c.anon.rpc("register_push_token", { token: t }));
    await sql`delete from public.customer_push_tokens where token = ${t}`;
  },

  "templates": async () => {
    const t = { channel: "email", name: `Tpl ${randomUUID().slice(0, 8)}`, subject: "Hi {{first_name}}", body_text: "Hello", variables: ["first_name"] };
    const { data } = ok(await c.comms.from("message_templates").insert(t).select().single());
    forbidden(await c.admin.from("message_templates").insert({ ...t, name: `${t.name} 2` }));
    forbidden(await c.customer.from("message_templates").insert({ ...t, name: `${t.name} 3` }));
    anonRefused(await c.anon.from("message_templates").insert({ ...t, name: `${t.name} 4` }));
    refused(await c.comms.from("message_templates").insert({ ...t, name: `${t.name} 5`, channel: "fax" }), 400, "23514");
    await sql`delete from public.message_templates where id = ${data!.id}`;
  },

  "pause / resume / cancel a campaign": async () => {
    const r = await invoke("comms", "bulk-message", { name: `Ctl ${randomUUID().slice(0, 8)}`, channel: "email", content: { subject: "S", text: "T" },
      audience: { segment_id: segmentId }, scheduled_at: new Date(Date.now() + 3_600_000).toISOString() });
    expect(r.status).toBeLessThan(300);
    const campaign_id = r.data!.campaign_id as string;
    forbidden(await c.admin.rpc("pause_campaign", { campaign_id }));
    forbidden(await c.customer.rpc("pause_campaign", { campaign_id }));
    anonRefused(await c.anon.rpc("pause_campaign", { campaign_id }));
    ok(await c.comms.rpc("pause_campaign", { campaign_id }));
    ok(await c.comms.rpc("resume_campaign", { campaign_id }));
    ok(await c.comms.rpc("cancel_campaign", { campaign_id }));
    const [{ status }] = await sql`select status from public.campaigns where id = ${campaign_id}`;
    expect(status).toBe("cancelled");
  },

  "settle recipients held after a crash (no provider evidence)": async () => {
    const r = await invoke("comms", "bulk-message", { name: `Held ${randomUUID().slice(0, 8)}`, channel: "email", content: { subject: "S", text: "T" },
      audience: { segment_id: segmentId }, scheduled_at: new Date(Date.now() + 3_600_000).toISOString() });
    expect(r.status).toBeLessThan(300);
    const campaign_id = r.data!.campaign_id as string;
    const [{ n }] = await sql`with h as (update public.campaign_recipients set status = 'held' where campaign_id = ${campaign_id} and status = 'queued' returning 1)
                              select count(*)::int as n from h`;
    forbidden(await c.admin.rpc("release_held_recipients", { campaign_id, action: "cancel" }));
    forbidden(await c.customer.rpc("release_held_recipients", { campaign_id, action: "cancel" }));
    anonRefused(await c.anon.rpc("release_held_recipients", { campaign_id, action: "cancel" }));
    refused(await c.comms.rpc("release_held_recipients", { campaign_id, action: "shrug" }), 400, "22023");
    const { data } = ok(await c.comms.rpc("release_held_recipients", { campaign_id, action: "cancel" }));
    expect(data).toMatchObject({ campaign_id, action: "cancel", recipients: n });
    ok(await c.comms.rpc("cancel_campaign", { campaign_id }));
  },

  "campaign analytics": async () => {
    const [{ id }] = await sql<{ id: string }[]>`select id from public.campaigns order by created_at desc limit 1`;
    for (const p of ["comms", "admin"] as const) {
      const { data } = ok(await c[p].from("campaign_stats").select("*").eq("campaign_id", id).single());
      expect(data).toMatchObject({ campaign_id: id });
      ok(await c[p].from("campaign_link_clicks").select("*").eq("campaign_id", id));
    }
    expect(ok(await c.customer.from("campaign_stats").select("*").eq("campaign_id", id)).data).toEqual([]);
    // anon holds no grant on the campaign views
    anonRefused(await c.anon.from("campaign_stats").select("*").eq("campaign_id", id));
  },

  "recipients of a campaign": async () => {
    const [{ id }] = await sql<{ id: string }[]>`select campaign_id as id from public.campaign_recipients limit 1`;
    for (const p of ["comms", "admin"] as const) {
      expect(ok(await c[p].from("campaign_recipients").select("customer_id, status, last_error").eq("campaign_id", id)).data!.length).toBeGreaterThan(0);
    }
    expect(ok(await c.customer.from("campaign_recipients").select("customer_id").eq("campaign_id", id)).data).toEqual([]);
    anonRefused(await c.anon.from("campaign_recipients").select("customer_id").eq("campaign_id", id));
  },

  "send what is due (pg_cron via pg_net)": async () => {
    const r = await invoke("service", "dispatch-messages", { budget_ms: 500 });
    expect(r.status).toBe(200);
    for (const p of ["comms", "admin", "customer", "anon"] as const) expect((await invoke(p, "dispatch-messages", { budget_ms: 500 })).status, p).toBe(403);
  },

  "SendGrid Event Webhook": async () => {
    // signed by SendGrid's key only: a supabase-js caller, whoever it is, is refused
    for (const p of ["comms", "service", "anon"] as const) {
      const r = await invoke(p, "sendgrid-events", [] as never);
      expect(r.status, p).toBe(401);
    }
  },

  "Twilio status callback, inbound SMS": async () => {
    for (const name of ["twilio-status", "twilio-inbound"]) {
      const res = await fetch(`${API_URL}/functions/v1/${name}`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "MessageSid=SM1&MessageStatus=delivered&From=%2B4790000000" });
      expect(res.status, name).toBe(401);
      await res.json();
    }
  },

  "SendGrid suppression sync": async () => {
    expect((await invoke("service", "sendgrid-suppression-sync", {})).status).toBe(200);
    for (const p of ["comms", "customer", "anon"] as const) expect((await invoke(p, "sendgrid-suppression-sync", {})).status, p).toBe(403);
  },

  "unsubscribe link in messages": async () => {
    const res = await fetch(`${API_URL}/functions/v1/unsubscribe?r=${randomUUID()}&s=forged`);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/link/i);
  },

  // docs/compliance.md (h11) ------------------------------------------------------------------

  "why was this message allowed?": async () => {
    const recipient_id = await anyRecipient();
    for (const p of ["comms", "admin"] as const) {
      const { data } = ok(await c[p].rpc("consent_proof", { recipient_id }));
      expect(data).toMatchObject({ recipient_id });
    }
    forbidden(await c.customer.rpc("consent_proof", { recipient_id }));
    anonRefused(await c.anon.rpc("consent_proof", { recipient_id }));
    refused(await c.admin.rpc("consent_proof", { recipient_id: randomUUID() }), 400, "22023");
  },

  "no message without a valid proof (zero rows expected)": async () => {
    const { data } = ok(await c.admin.rpc("check_consent_proofs"));
    expect(Array.isArray(data)).toBe(true);
    forbidden(await c.customer.rpc("check_consent_proofs"));
    anonRefused(await c.anon.rpc("check_consent_proofs"));
  },

  "a campaign's consent proofs as CSV": async () => {
    const [{ id }] = await sql<{ id: string }[]>`select campaign_id as id from public.campaign_recipients where id = ${await anyRecipient()}`;
    const get = async (persona: "admin" | "customer") =>
      await fetch(`${API_URL}/functions/v1/consent-proofs?campaign_id=${id}`, { headers: { Authorization: `Bearer ${await tokenFor(persona)}` } });
    const res = await get("admin");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/csv");
    expect((await res.text()).startsWith("recipient_id,campaign_id,")).toBe(true);
    const refusedRes = await get("customer");
    expect(refusedRes.status).toBe(403);
    await refusedRes.json();
    const anon = await fetch(`${API_URL}/functions/v1/consent-proofs?campaign_id=${id}`);
    expect(anon.status).toBe(401);
    await anon.json();
  },

  "double opt-in settings and wording": async () => {
    expect(ok(await c.admin.from("consent_settings").select("channel, double_opt_in, confirmation_ttl_hours")).data).toHaveLength(3);
    const [{ doi }] = await sql<{ doi: boolean }[]>`select double_opt_in as doi from public.consent_settings where channel = 'sms'`;
    ok(await c.admin.from("consent_settings").update({ double_opt_in: doi }).eq("channel", "sms"));
    expect(ok(await c.customer.from("consent_settings").update({ double_opt_in: !doi }).eq("channel", "sms").select()).data).toEqual([]);
    expect(ok(await c.customer.from("consent_texts").select("channel, version, wording")).data!.length).toBeGreaterThanOrEqual(3);
    forbidden(await c.customer.from("consent_texts").insert({ channel: "email", wording: "forged wording" }));
    anonRefused(await c.anon.from("consent_settings").select("channel"));
    anonRefused(await c.anon.from("consent_texts").select("channel"));
  },

  "pending consent requests and their proof": async () => {
    ok(await c.admin.from("consent_confirmations").select("*").eq("customer_id", other));
    expect(ok(await c.customer.from("consent_confirmations").select("id").eq("customer_id", other)).data).toEqual([]);
    ok(await c.customer.from("consent_confirmations").select("id").eq("customer_id", cora.id));
    anonRefused(await c.anon.from("consent_confirmations").select("id"));
  },

  "confirmation link (double opt-in)": async () => {
    const res = await fetch(`${API_URL}/functions/v1/consent-confirm?r=${randomUUID()}&s=forged&format=json`, { method: "POST" });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe("bad_link");
  },

  "export a person's data": async () => {
    const { data } = ok(await c.admin.rpc("export_customer_data", { customer_id: other }));
    expect((data as { sections: { profile: unknown[] } }).sections.profile).toHaveLength(1);
    forbidden(await c.customer.rpc("export_customer_data", { customer_id: cora.id }));
    anonRefused(await c.anon.rpc("export_customer_data", { customer_id: other }));
    const own = await fetch(`${API_URL}/functions/v1/customer-data-export`, { headers: { Authorization: `Bearer ${await tokenFor("customer")}` } });
    expect(own.status).toBe(200);
    expect((await own.json()).customer_id).toBe(cora.id);
    const theirs = await fetch(`${API_URL}/functions/v1/customer-data-export?customer_id=${other}`, { headers: { Authorization: `Bearer ${await tokenFor("customer")}` } });
    expect(theirs.status).toBe(403);
    await theirs.json();
  },

  "erase a person (irreversible)": async () => {
    const id = randomUUID();
    await sql`insert into auth.users (id, email) values (${id}, ${`erase-${id}@example.test`})`;
    await sql`insert into public.users (id, email, full_name) values (${id}, ${`erase-${id}@example.test`}, 'Erase Me')`;
    forbidden(await c.customer.rpc("erase_customer", { customer_id: id, reason: "test" }));
    anonRefused(await c.anon.rpc("erase_customer", { customer_id: id, reason: "test" }));
    refused(await c.admin.rpc("erase_customer", { customer_id: id, reason: " " }), 400, "22023");
    expect(ok(await c.admin.rpc("erase_customer", { customer_id: id, reason: "endpoint test DSR-1" })).data).toMatchObject({ status: "erased" });
    expect(ok(await c.admin.rpc("erase_customer", { customer_id: id, reason: "again" })).data).toMatchObject({ status: "already_erased" });
  },
};

describe("README endpoint rows through supabase-js and the real PostgREST", () => {
  for (const [row, run] of Object.entries(cases)) it(row, run);

  it("the README's endpoint tables are this table: every row has its test, every test its row", () => {
    const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Endpoints of the seed spec"), readme.indexOf("\n## ", readme.indexOf("## Endpoints of the seed spec") + 5));
    const rows: string[] = [];
    for (const table of section.split(/\n\s*\n/).filter((b) => b.trimStart().startsWith("|"))) {
      const lines = table.trim().split("\n").slice(2); // header and separator
      for (const line of lines) rows.push(line.split(" | ")[0].replace(/^\|\s*/, "").trim());
    }
    expect(rows.length).toBeGreaterThan(30);
    expect([...rows].sort()).toEqual(Object.keys(cases).sort());
  });
});

// Refusals that used to reach supabase-js as 500 (55000, P0002) or answer a customer
// (validate_segment): each is a 4xx with its code now (docs/errors.md).
describe("refusals as docs/errors.md maps them", () => {
  it("the customer's own opt-out beats a staff re-consent: 409 PT409", async () => {
    ok(await c.customer.rpc("set_customer_consent", { customer_id: cora.id, channel: "push", enabled: false }));
    refused(await c.admin.rpc("set_customer_consent", { customer_id: cora.id, channel: "push", enabled: true, source: "admin" }), 409, "PT409");
  });

  it("a cancelled campaign cannot be resumed: 409 PT409", async () => {
    const r = await invoke("comms", "bulk-message", { name: `Ctl ${randomUUID().slice(0, 8)}`, channel: "email", content: { subject: "S", text: "T" },
      audience: { segment_id: segmentId }, scheduled_at: new Date(Date.now() + 3_600_000).toISOString() });
    const campaign_id = r.data!.campaign_id as string;
    ok(await c.comms.rpc("cancel_campaign", { campaign_id }));
    refused(await c.comms.rpc("resume_campaign", { campaign_id }), 409, "PT409");
  });

  it("duplicating an unknown segment is a 4xx (22023 or PT404), not a 500", async () => {
    refusedOneOf(await c.admin.rpc("duplicate_segment", { segment_id: randomUUID() }), [[400, "22023"], [404, "PT404"]]);
  });

  it("validate_segment is admin-only like evaluate_segment", async () => {
    forbidden(await c.customer.rpc("validate_segment", { definition: cityRule("Oslo") }));
  });
});
