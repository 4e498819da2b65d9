// Hostile definitions: SQL in identifiers, operators, combinators, keys and values; unicode;
// huge lists; deep nesting; unknown keys. Each is answered with 22023 naming a path, or with the
// correct result; none runs SQL of its own (a sentinel table and the users table survive).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, sql, type TestUser } from "../support/index.ts";
import { asUser, evaluateAll, loadFacts, matchGroup, type Facts, type Group } from "../support/segments.ts";
import { createWorld, dropWorld, type World } from "./fixtures.ts";

let admin: TestUser;
let world: World;
let facts: Facts[];
let usersBefore: number;

beforeAll(async () => {
  admin = await createUser(["admin"]);
  world = await createWorld(20, 11);
  facts = await loadFacts(world.customerIds);
  await sql`create table if not exists public.segtest_sentinel (id int primary key)`;
  await sql`insert into public.segtest_sentinel values (1) on conflict do nothing`;
  usersBefore = Number((await sql`select count(*) as n from public.users`)[0].n);
});
afterAll(async () => {
  await sql`drop table if exists public.segtest_sentinel`;
  await dropWorld(world);
  await sql`delete from public.users where id = ${admin.id}`;
  await sql`delete from auth.users where id = ${admin.id}`;
});

type Outcome = { ok: true; total: number; ids: string[] } | { ok: false; code: string; message: string };

async function evaluate(definition: unknown): Promise<Outcome> {
  try {
    return { ok: true, ...(await evaluateAll(admin.id, definition)) };
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { ok: false, code: err.code ?? "?", message: err.message };
  }
}

async function intact(): Promise<void> {
  expect((await sql`select count(*)::int as n from public.segtest_sentinel`)[0].n).toBe(1);
  expect(Number((await sql`select count(*) as n from public.users`)[0].n)).toBe(usersBefore);
}

const INJECTIONS = [
  "city; drop table public.segtest_sentinel; --", "city'--", "\"city\"", "city /* */", "f.city) or (true", "1=1", "'; select pg_sleep(5); --",
  "$1", "$$", "\\", "%", "_", "ciTy", "cıty", "city\u200b", "😀", "ᚠᛇᚻ", "مدينة", "\u202ecity", "null", "", " ", "and", "or",
];
const hostileString = fc.oneof(fc.constantFrom(...INJECTIONS), fc.string({ unit: "grapheme", maxLength: 30 }), fc.string({ maxLength: 30 }))
  .map((s) => s.replace(/\u0000/g, "")); // jsonb cannot hold NUL at all: refused by Postgres before any segment code runs

describe("hostile definitions", () => {
  it("in identifiers, operators and combinators are refused with 22023 and a path", async () => {
    await fc.assert(fc.asyncProperty(hostileString, fc.constantFrom("field", "operator", "combinator", "key"), async (s, where) => {
      const rule: Record<string, unknown> = { field: "city", operator: "=", value: "Oslo" };
      const def: Record<string, unknown> = { version: 1, combinator: "and", rules: [rule] };
      if (where === "field") rule.field = s;
      if (where === "operator") rule.operator = s;
      if (where === "combinator") def.combinator = s;
      if (where === "key") rule[s] = "x";
      fc.pre(!(where === "combinator" && (s === "and" || s === "or")));
      fc.pre(!(where === "key" && ["field", "operator", "value", "id"].includes(s)));
      fc.pre(!(where === "operator" && ["=", "!=", "in", "notIn", "contains", "doesNotContain", "beginsWith", "endsWith", "null", "notNull"].includes(s)));
      fc.pre(!(where === "field" && ["city", "region", "country_code"].includes(s)));
      const out = await evaluate(def);
      expect(out.ok).toBe(false);
      if (!out.ok) {
        expect(out.code).toBe("22023");
        expect(out.message).toMatch(/^\$/);
      }
    }), { numRuns: 150, seed: 4 });
    await intact();
  }, 600_000);

  it("in values are plain data: the result equals the independent evaluator", async () => {
    await fc.assert(fc.asyncProperty(hostileString, fc.constantFrom("=", "!=", "contains", "doesNotContain", "beginsWith", "endsWith", "in"),
      async (s, op) => {
        const definition = { version: 1, combinator: "and", rules: [
          { field: "tag", operator: "containsAny", value: [world.marker] },
          { field: "city", operator: op, value: op === "in" ? [s, "Oslo"] : s }] };
        const out = await evaluate(definition);
        if (!out.ok) throw new Error(`refused a valid value ${JSON.stringify(s)}: ${out.message}`);
        const [{ now }] = await sql`select extract(epoch from now()) * 1000 as now`;
        const expected = facts.filter((f) => matchGroup(f, definition as Group, Number(now))).map((f) => f.customer_id).sort();
        expect(out.ids.slice().sort()).toEqual(expected);
      }), { numRuns: 150, seed: 5 });
    await intact();
  }, 600_000);

  it("a value that is SQL finds the customer whose city is literally that text", async () => {
    const out = await evaluate({ version: 1, combinator: "and", rules: [
      { field: "tag", operator: "containsAny", value: [world.marker] }, { field: "city", operator: "=", value: "o'brien; --" }] });
    expect(out.ok).toBe(true);
    if (out.ok) expect(out.ids.sort()).toEqual(facts.filter((f) => f.city === "O'Brien; --").map((f) => f.customer_id).sort());
  });

  it("huge lists, deep nesting, many rules and unknown keys are refused by limit, quickly", async () => {
    const rule = { field: "city", operator: "null" };
    let deep: any = { combinator: "and", rules: [rule] };
    for (let i = 0; i < 2000; i++) deep = { combinator: "or", rules: [deep] };
    const cases: Array<[unknown, string]> = [
      [{ version: 1, combinator: "and", rules: [{ field: "city", operator: "in", value: Array.from({ length: 100_000 }, (_, i) => `c${i}`) }] }, "$.rules[0].value: a list may have at most 500"],
      [{ version: 1, ...deep }, "too_deep"],
      [{ version: 1, combinator: "and", rules: Array.from({ length: 20_000 }, () => rule) }, "$.rules[100]: a definition has at most 100 rules"],
      [{ version: 1, combinator: "and", rules: [rule], __proto__x: 1, "constructor": {} }, "$.__proto__x"],
      [{ version: 1, combinator: "and", rules: [{ ...rule, value: null, extra: { nested: ["x"] } }] }, "$.rules[0].extra"],
      [{ version: 1, combinator: "and", rules: [{ field: "city", operator: "=", value: "x".repeat(100_000) }] }, "$.rules[0].value: a string may have at most 200"],
      [{ version: 1, combinator: "and", rules: [{ field: "city", operator: "=", value: { "$ne": 1 } }] }, "$.rules[0].value"],
      [[{ version: 1 }], "$: a group must be an object"],
    ];
    for (const [definition, expected] of cases) {
      const t = performance.now();
      const out = await evaluate(definition);
      expect(out.ok, JSON.stringify(definition).slice(0, 80)).toBe(false);
      if (!out.ok) {
        expect(out.code).toBe("22023");
        if (expected === "too_deep") expect(out.message).toMatch(/^\$(\.rules\[0\]){5}: groups nest at most 5 deep/);
        else expect(out.message.startsWith(expected), out.message).toBe(true);
      }
      expect(performance.now() - t).toBeLessThan(20_000);
    }
    await intact();
  });

  it("a list of 500 unicode values is a correct result", async () => {
    const values = Array.from({ length: 499 }, (_, i) => `ø-${i}-😀`).concat(["TROMSØ"]);
    const out = await evaluate({ version: 1, combinator: "and", rules: [
      { field: "tag", operator: "containsAny", value: [world.marker] }, { field: "city", operator: "in", value: values }] });
    expect(out.ok).toBe(true);
    if (out.ok) expect(out.ids.sort()).toEqual(facts.filter((f) => f.city === "Tromsø").map((f) => f.customer_id).sort());
  });

  it("the result of a refused definition is never partial: nothing was written", async () => {
    const before = Number((await sql`select count(*) as n from public.customer_segments`)[0].n);
    await expect(asUser(admin.id, (tx) => tx`insert into public.customer_segments (name, definition)
      values ('hostile', ${tx.json({ version: 1, combinator: "and; drop table public.segtest_sentinel", rules: [] })})`))
      .rejects.toMatchObject({ code: "22023" });
    expect(Number((await sql`select count(*) as n from public.customer_segments`)[0].n)).toBe(before);
    await intact();
  });
});
