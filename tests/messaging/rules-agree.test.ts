// One rule in one place (issue 13): every limit of private.messaging_rules() is probed at the
// limit and one past it through bulk-message (zod, then SQL), the RPC queue_bulk_message called
// through PostgREST (SQL alone) and, for content, message-preview and the RPC
// check_message_content. All must agree.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../../types/database.ts";
import { accessToken } from "../../scripts/keys.mjs";
import { API_URL, PUBLISHABLE_KEY } from "../support/api.ts";
import { callFunction, sql, type TestUser } from "../support/index.ts";
import { communicator, customerWith } from "../support/messaging.ts";

interface Outcome {
  ok: boolean;
  message?: string;
}

let rules: any;
let comms: TestUser;
let customerId: string;
let api: SupabaseClient<Database>;

beforeAll(async () => {
  [{ rules }] = await sql`select private.messaging_rules() as rules`;
  comms = await communicator();
  const token = await accessToken(comms, 3600);
  api = createClient<Database>(API_URL, PUBLISHABLE_KEY, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    accessToken: async () => token,
  });
  customerId = (await customerWith({})).id; // no consent: accepted requests queue nothing
});
afterAll(async () => {
  await sql.end();
});

// The RPC as a frontend calls it: supabase-js -> gateway -> the real PostgREST, as the communicator.
async function rpc(request: unknown, fn = "queue_bulk_message"): Promise<Outcome & { code?: string; status: number }> {
  const res = fn === "queue_bulk_message"
    ? await api.rpc("queue_bulk_message", { request: request as never })
    : await api.rpc("check_message_content", request as never);
  return { ok: res.error === null, status: res.status, code: res.error?.code, message: res.error?.message };
}

async function http(name: string, body: unknown): Promise<Outcome & { status: number }> {
  const res = await callFunction(name, { jwt: comms.jwt, body });
  const json = await res.json().catch(() => ({}));
  return { ok: res.status < 300, status: res.status, message: json?.error?.message };
}

const request = (over: Record<string, unknown> = {}) => ({
  name: "Limits", channel: "sms", content: { text: "hi" }, audience: { customer_ids: [customerId] }, ...over,
});

// A valid content for the channel, every required field filled.
function baseContent(channel: string): Record<string, string> {
  return Object.fromEntries(Object.entries(rules.content[channel]).filter(([, r]: any) => r.required).map(([f]) => [f, "x"]));
}

function expectAgree(field: string, shouldPass: boolean, outcomes: Record<string, Outcome>) {
  for (const [path, o] of Object.entries(outcomes)) {
    expect({ path, ok: o.ok }).toEqual({ path, ok: shouldPass });
    if (!shouldPass) expect({ path, message: o.message?.split(":")[0] }).toEqual({ path, message: field });
  }
}

describe("content limits agree: bulk-message, queue_bulk_message and message-preview", () => {
  it("every content field of every channel, at its limit and one past it", async () => {
    let probes = 0;
    for (const [channel, fields] of Object.entries<any>(rules.content)) {
      for (const [field, rule] of Object.entries<any>(fields)) {
        for (const [size, shouldPass] of [[rule.max_chars, true], [rule.max_chars + 1, false]] as const) {
          const content = { ...baseContent(channel), [field]: "y".repeat(size) };
          const body = request({ channel, content });
          expectAgree(`content.${field}`, shouldPass, {
            "bulk-message": await http("bulk-message", body),
            queue_bulk_message: await rpc(body),
            "message-preview": await http("message-preview", { customer_id: customerId, channel, content }),
            check_message_content: await rpc({ channel, content }, "check_message_content"),
          });
          probes++;
        }
      }
    }
    expect(probes).toBe(12);
  });

  it("counts characters as Postgres does (an emoji is one), in every path", async () => {
    const max = rules.content.email.subject.max_chars;
    for (const [size, shouldPass] of [[max, true], [max + 1, false]] as const) {
      const content = { subject: "🚜".repeat(size), text: "x" };
      expectAgree("content.subject", shouldPass, {
        "bulk-message": await http("bulk-message", request({ channel: "email", content })),
        queue_bulk_message: await rpc(request({ channel: "email", content })),
        "message-preview": await http("message-preview", { customer_id: customerId, channel: "email", content }),
      });
    }
  });

  it("a required field of only whitespace (any of JavaScript's) is blank in every path", async () => {
    for (const blank of [" ", "\n\t", "\u00a0", "\u2003\ufeff"]) {
      const content = { subject: blank, text: "x" };
      expectAgree("content.subject", false, {
        "bulk-message": await http("bulk-message", request({ channel: "email", content })),
        queue_bulk_message: await rpc(request({ channel: "email", content })),
        "message-preview": await http("message-preview", { customer_id: customerId, channel: "email", content }),
      });
    }
  });

  it("a field another channel takes, or no channel takes, is refused in every path", async () => {
    for (const [channel, content, field] of [
      ["sms", { text: "hi", subject: "s" }, "content.subject"],
      ["sms", { text: "hi", html: "<b>x</b>" }, "content.html"],
      ["email", { subject: "s", text: "hi", title: "t" }, "content.title"],
      ["push", { text: "hi", priority: "high" }, "content.priority"],
    ] as const) {
      expectAgree(field, false, {
        "bulk-message": await http("bulk-message", request({ channel, content })),
        queue_bulk_message: await rpc(request({ channel, content })),
        "message-preview": await http("message-preview", { customer_id: customerId, channel, content }),
      });
    }
  });
});

describe("request limits agree: bulk-message and queue_bulk_message", () => {
  it("name, at its limit and one past it", async () => {
    const max = rules.request.name.max_chars;
    for (const [name, shouldPass] of [["n".repeat(max), true], ["n".repeat(max + 1), false], [" \n", false]] as const) {
      expectAgree("name", shouldPass, { "bulk-message": await http("bulk-message", request({ name })), queue_bulk_message: await rpc(request({ name })) });
    }
  });

  it("throttle_per_minute, at both ends and one past each", async () => {
    const { min, max } = rules.request.throttle_per_minute;
    for (const [t, shouldPass] of [[min, true], [max, true], [min - 1, false], [max + 1, false], [1.5, false]] as const) {
      const body = request({ throttle_per_minute: t });
      expectAgree("throttle_per_minute", shouldPass, { "bulk-message": await http("bulk-message", body), queue_bulk_message: await rpc(body) });
    }
  });

  it("audience.customer_ids: the count limit holds at max+1 and not at max, in both paths", async () => {
    const { min_items, max_items } = rules.request.customer_ids;
    const ids = (n: number) => [customerId, ...Array.from({ length: n - 1 }, () => crypto.randomUUID())];
    for (const n of [max_items, max_items + 1]) {
      const body = request({ audience: { customer_ids: ids(n) } });
      // at max, bulk-message passes zod and reaches the same SQL check the RPC runs
      for (const o of n === max_items ? [await http("bulk-message", body)] : [await http("bulk-message", body), await rpc(body)]) {
        expect(o.ok).toBe(false); // at max, the random ids are unknown customers
        expect(o.message).toMatch(/^audience/);
        if (n === max_items) expect(o.message).toMatch(/no customer/);
        else expect(o.message).not.toMatch(/no customer/);
      }
    }
    const none = request({ audience: { customer_ids: [] } });
    expect(min_items).toBe(1);
    for (const o of [await http("bulk-message", none), await rpc(none)]) {
      expect(o.ok).toBe(false);
      expect(o.message).toMatch(/^audience/);
    }
  });
});

describe("text that Postgres cannot hold, and bodies too large to read", () => {
  it("a NUL character in any text field is a 400 naming the field, in bulk-message and message-preview", async () => {
    const cases: Array<[string, unknown, string]> = [
      ["bulk-message", request({ name: "Spring\u0000offers" }), "name"],
      ["bulk-message", request({ content: { text: "STOP\u0000" } }), "content.text"],
      ["bulk-message", request({ audience: { definition: { version: 1, combinator: "and", rules: [{ field: "city", operator: "=", value: "Os\u0000lo" }] } } }), "audience.definition.rules[0].value"],
      ["message-preview", { customer_id: customerId, channel: "sms", content: { text: "a\u0000" } }, "content.text"],
    ];
    for (const [fn, body, field] of cases) {
      const before = (await sql`select count(*)::int as n from public.campaigns`)[0].n;
      const res = await callFunction(fn, { jwt: comms.jwt, body });
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toBe(`${field}: must not contain a NUL character (\\u0000)`);
      expect((await sql`select count(*)::int as n from public.campaigns`)[0].n).toBe(before);
    }
    // the RPC path: jsonb cannot hold it either; PostgREST answers 400 with Postgres' SQLSTATE
    const o = await rpc(request({ name: "Spring\u0000offers" }));
    expect({ ok: o.ok, status: o.status, code: o.code }).toEqual({ ok: false, status: 400, code: "22P05" });
  });

  it("a 50 MB text is refused before it is parsed, by bulk-message and message-preview alike", async () => {
    const text = "x".repeat(50 * 1024 * 1024);
    for (const [fn, body] of [
      // message-preview used to render it; bulk-message is refused past its own limit the same way
      ["message-preview", JSON.stringify({ customer_id: customerId, channel: "sms", content: { text } })],
      ["bulk-message", JSON.stringify(request({ content: { text: text.slice(0, 17 * 1024 * 1024) } }))],
    ] as const) {
      const res = await callFunction(fn, { jwt: comms.jwt, body });
      expect(res.status).toBe(413);
      expect((await res.json()).error.message).toMatch(/^body: /);
    }
  });

  it("a 2 MB text within the byte limit is refused by the same content rule in both functions", async () => {
    const text = "x".repeat(2 * 1024 * 1024);
    for (const [fn, body] of [
      ["bulk-message", request({ channel: "push", content: { text } })],
      ["message-preview", { customer_id: customerId, channel: "push", content: { text } }],
    ] as const) {
      const res = await callFunction(fn, { jwt: comms.jwt, body });
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toMatch(/^content\.text: /);
    }
  });
});

describe("lists have one source", () => {
  it("the generated constants equal what the database allows now", async () => {
    const generated = await import("../../supabase/functions/_shared/generated/constants.ts");
    const { allowed } = await import("../support/rules.ts");
    expect(generated.MESSAGING_RULES).toEqual(rules);
    expect([...generated.CHANNELS]).toEqual(await allowed("campaigns", "channel"));
    expect([...generated.RECIPIENT_STATUSES]).toEqual(await allowed("campaign_recipients", "status"));
    expect([...generated.CAMPAIGN_STATUSES]).toEqual(await allowed("campaigns", "status"));
    expect([...generated.TIMELINE_EVENT_TYPES]).toEqual(await allowed("customer_timeline_events", "event_type"));
    expect([...generated.CONSENT_SOURCES].sort()).toEqual((await allowed("customer_consent", "source")).sort());
    expect([...generated.MESSAGE_VARIABLES]).toEqual((await sql`select private.message_variables() as v`)[0].v);
  });

  it("every channel column in the database allows exactly the generated channels", async () => {
    const { CHANNELS } = await import("../../supabase/functions/_shared/generated/constants.ts");
    const { allowed } = await import("../support/rules.ts");
    for (const [table, column] of [["customer_consent", "channel"], ["suppressions", "channel"], ["message_templates", "channel"],
      ["campaigns", "channel"], ["users", "preferred_contact_method"]]) {
      expect({ table, values: await allowed(table, column) }).toEqual({ table, values: [...CHANNELS] });
    }
  });

  it("the functions use the generated lists (no copy of their own)", async () => {
    const { MESSAGE_VARIABLES } = await import("../../supabase/functions/_shared/messaging/render.ts");
    const { EVENT_TYPES } = await import("../../supabase/functions/timeline-export/params.ts");
    const generated = await import("../../supabase/functions/_shared/generated/constants.ts");
    expect(MESSAGE_VARIABLES).toBe(generated.MESSAGE_VARIABLES);
    expect(EVENT_TYPES).toBe(generated.TIMELINE_EVENT_TYPES);
  });
});
