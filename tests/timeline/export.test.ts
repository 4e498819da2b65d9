import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callFunction, createUser, mintJwt, sql, type TestUser } from "../support/index.ts";
import { timelineAll } from "../support/timeline.ts";

let admin: TestUser;
let customer: TestUser;
let bulkCustomer: TestUser;

// Notes whose text becomes the event title: formula starters, quotes, commas, newlines, non-ASCII.
const TRICKY_NOTES = [
  "=HYPERLINK(\"http://evil.example\",\"click\")",
  "+47 900 00 000 called",
  "-5 for the scratch",
  "@SUM(A1:A9)",
  "\tindented with a tab",
  "\rstarts with a carriage return",
  "Said \"no\", twice, then \"yes\"",
  "line one\nline two\r\nline three",
  "Tromsø, Ålesund; naïve café",
];

beforeAll(async () => {
  admin = await createUser(["admin"]);
  customer = await createUser([], { full_name: "Export Customer" });
  bulkCustomer = await createUser([]);
  await sql.begin(async (tx) => {
    let i = 0;
    for (const note of TRICKY_NOTES) {
      await tx`insert into public.customer_notes (customer_id, note, created_at)
               values (${customer.id}, ${note}, ${new Date(Date.UTC(2026, 3, 1 + i++, 9)).toISOString()})`;
    }
    await tx`insert into public.bookings (customer_id, start_date, end_date, created_at)
             values (${customer.id}, '2026-05-03', '2026-05-05', '2026-04-20T10:00:00Z')`;
    await tx`insert into public.payments (customer_id, amount, currency, status, created_at)
             values (${customer.id}, 1234.5, 'NOK', 'succeeded', '2026-04-21T10:00:00Z')`;
    // more than one page of the RPC (500) for the bulk customer
    await tx`insert into public.customer_notes (customer_id, note, created_at)
             select ${bulkCustomer.id}, 'bulk ' || i, timestamptz '2026-01-01' + make_interval(mins => i / 2)
               from generate_series(1, 1203) i`;
  });
});

afterAll(async () => {
  await sql.end();
});

function exportOf(customerId: string, query: Record<string, string> = {}, jwt: string | null = admin.jwt) {
  return callFunction("timeline-export", { jwt, query: { customer_id: customerId, ...query } });
}

const DANGEROUS = /^[=+\-@\t\r]/;

// What a cell must hold for a value: neutralised when a spreadsheet would run it.
function expectedCell(value: string | null): string {
  const v = value ?? "";
  return DANGEROUS.test(v) ? `'${v}` : v;
}

describe("timeline-export", () => {
  it("answers text/csv with a header row and a filename", async () => {
    const res = await exportOf(customer.id);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(new RegExp(`^attachment; filename="timeline-${customer.id}-\\d{8}\\.csv"$`));
    const text = await res.text();
    expect(text.split("\r\n")[0]).toBe("id,occurred_at,day,event_type,reference_id,title,metadata");
    expect(text.endsWith("\r\n")).toBe(true);
  });

  it("parsed back with a real CSV parser equals the RPC's events, in order", async () => {
    const text = await (await exportOf(customer.id)).text();
    const rows = parse(text, { columns: true, relax_quotes: false }) as Record<string, string>[];
    const events = await timelineAll(admin.id, customer.id);
    expect(rows.length).toBe(events.length);
    expect(events.length).toBe(TRICKY_NOTES.length + 2);
    rows.forEach((row, i) => {
      const e = events[i];
      expect(row.id).toBe(e.id);
      expect(row.occurred_at).toBe(e.occurred_at);
      expect(row.day).toBe(e.day);
      expect(row.event_type).toBe(e.event_type);
      expect(row.reference_id).toBe(e.reference_id);
      expect(row.title).toBe(expectedCell(e.title));
      expect(JSON.parse(row.metadata)).toEqual(e.metadata);
    });
  });

  it("neutralises formula injection and keeps quotes, commas and newlines intact", async () => {
    const rows = parse(await (await exportOf(customer.id, { types: "note" })).text(), { columns: true }) as Record<string, string>[];
    const titles = new Set(rows.map((r) => r.title));
    expect(titles).toContain("'=HYPERLINK(\"http://evil.example\",\"click\")");
    expect(titles).toContain("'+47 900 00 000 called");
    expect(titles).toContain("'-5 for the scratch");
    expect(titles).toContain("'@SUM(A1:A9)");
    expect(titles).toContain("'\tindented with a tab");
    expect(titles).toContain("'\rstarts with a carriage return");
    expect(titles).toContain("Said \"no\", twice, then \"yes\"");
    expect(titles).toContain("line one\nline two\r\nline three");
    expect(titles).toContain("Tromsø, Ålesund; naïve café");
    // no cell of the file starts a formula
    const cells = parse(await (await exportOf(customer.id)).text(), { columns: false }) as string[][];
    for (const cell of cells.flat()) expect(cell).not.toMatch(DANGEROUS);
  });

  it("filters by types, since and until exactly as the RPC does", async () => {
    const query = { types: "payment,note", since: "2026-04-03", until: "2026-04-21T10:00:00Z" };
    const rows = parse(await (await exportOf(customer.id, query)).text(), { columns: true }) as Record<string, string>[];
    const events = await timelineAll(admin.id, customer.id, { types: ["payment", "note"], since: "2026-04-03T00:00:00Z", until: "2026-04-21T10:00:00Z" });
    expect(rows.map((r) => r.id)).toEqual(events.map((e) => e.id));
    expect(rows.length).toBe(TRICKY_NOTES.length - 2);
    expect(new Set(rows.map((r) => r.event_type))).toEqual(new Set(["note"]));
  });

  it("streams every page: 1203 events come out complete, newest first", async () => {
    const rows = parse(await (await exportOf(bulkCustomer.id)).text(), { columns: true }) as Record<string, string>[];
    const events = await timelineAll(admin.id, bulkCustomer.id);
    expect(rows.length).toBe(1203);
    expect(rows.map((r) => r.id)).toEqual(events.map((e) => e.id));
  });

  it("writes an audit row per export: who, whose, which filters, how many rows", async () => {
    const before = new Date().toISOString();
    await (await exportOf(customer.id, { types: "note", since: "2026-04-02" })).text();
    const rows = await sql`select actor_id, actor_role, action, entity, entity_id, context from public.audit_log
                            where entity = 'customer_timeline' and entity_id = ${customer.id} and occurred_at >= ${before}`;
    expect(rows.length).toBe(1);
    expect(rows[0]).toMatchObject({ actor_id: admin.id, actor_role: "authenticated", action: "export", entity_id: customer.id });
    expect(rows[0].context).toEqual({
      format: "csv",
      filters: { types: ["note"], since: "2026-04-02T00:00:00.000Z", until: null },
      rows: TRICKY_NOTES.length - 1,
      completed: true,
    });
  });

  it("audits a download cut short as incomplete, with the rows sent so far", async () => {
    const big = await createUser([]);
    await sql`select private.record_timeline_event(${big.id}::uuid, 'note', 'test', gen_random_uuid(), 'k', now() - make_interval(secs => i),
                                                   'Event ' || i, '{}'::jsonb) from generate_series(1, 30000) i`;
    const res = await exportOf(big.id);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    let rows: Array<{ context: { rows: number; completed: boolean } }> = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      rows = await sql`select context from public.audit_log where entity = 'customer_timeline' and entity_id = ${big.id}` as never;
    }
    expect(rows.length).toBe(1);
    expect(rows[0].context.completed).toBe(false);
    expect(rows[0].context.rows).toBeGreaterThan(0);
    expect(rows[0].context.rows).toBeLessThan(30000);
  });

  it("answers 401 without a JWT or with a forged one, and writes no audit row", async () => {
    const none = await exportOf(customer.id, {}, null);
    expect(none.status).toBe(401);
    expect((await none.json()).error.code).toBe("missing_jwt");
    const forged = await exportOf(customer.id, {}, await mintJwt("authenticated", admin.id, { secret: "x".repeat(40) }));
    expect(forged.status).toBe(401);
  });

  it("answers 403 to a customer, even for their own timeline, and to anon", async () => {
    const own = await exportOf(customer.id, {}, customer.jwt);
    expect(own.status).toBe(403);
    expect((await own.json()).error.code).toBe("forbidden");
    const anon = await exportOf(customer.id, {}, await mintJwt("anon"));
    expect(anon.status).toBe(403);
    const [{ n }] = await sql`select count(*)::int as n from public.audit_log where entity = 'customer_timeline' and actor_id = ${customer.id}`;
    expect(n).toBe(0);
  });

  it("answers 403, not 400, to a customer who also sends bad parameters", async () => {
    const res = await exportOf("not-a-uuid", { types: "bogus" }, customer.jwt);
    expect(res.status).toBe(403);
  });

  const badCases: Array<[string, Record<string, string>, string, RegExp]> = [
    ["a malformed uuid", { customer_id: "not-a-uuid" }, "customer_id", /must be a uuid/],
    ["a missing customer_id", { customer_id: "" }, "customer_id", /must be a uuid/],
    ["an unknown type", { types: "booking,bogus" }, "types", /"bogus" is not an event type/],
    ["an empty type", { types: "" }, "types", /"" is not an event type/],
    ["a malformed since", { since: "yesterday" }, "since", /must be an ISO date/],
    ["an impossible date", { until: "2026-02-30" }, "until", /must be an ISO date/],
    ["since after until", { since: "2026-05-02", until: "2026-05-01" }, "since", /is after until/],
    ["an unknown parameter", { type: "note" }, "type", /is not a parameter/],
  ];
  for (const [name, query, parameter, message] of badCases) {
    it(`answers 400 naming the parameter for ${name}`, async () => {
      const res = await exportOf(customer.id, query);
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.error.code).toBe("invalid_parameter");
      expect(body.error.message.startsWith(`${parameter}: `)).toBe(true);
      expect(body.error.message).toMatch(message);
      expect(body.error.details.problems[0].parameter).toBe(parameter);
    });
  }

  it("answers 404 for a customer that does not exist", async () => {
    const res = await exportOf("00000000-0000-4000-a000-00000000dead");
    expect(res.status).toBe(404);
    expect((await res.json()).error.message).toMatch(/^customer_id: /);
  });

  it("answers 405 to anything but GET", async () => {
    const res = await callFunction("timeline-export", { method: "POST", jwt: admin.jwt, body: {}, query: { customer_id: customer.id } });
    expect(res.status).toBe(405);
  });
});
