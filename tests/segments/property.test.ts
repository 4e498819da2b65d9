// Property: for random v1 definitions, evaluate_segment's member set (and total) equals what an
// independent TypeScript evaluator computes from the same customer facts.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, sql, type TestUser } from "../support/index.ts";
import {
  ARRAY, BOOLEAN, DATE, INTEGER, NUMBER, OPERATORS, TEXT, evaluateAll, kindOf, loadFacts, matchGroup,
  type Facts, type Group, type Rule,
} from "../support/segments.ts";
import { CATEGORIES, CITIES, REGIONS, createWorld, dropWorld, type World } from "./fixtures.ts";

let admin: TestUser;
let world: World;
let facts: Facts[];

beforeAll(async () => {
  admin = await createUser(["admin"]);
  world = await createWorld();
  facts = await loadFacts(world.customerIds);
});
afterAll(async () => {
  await dropWorld(world);
  await sql`delete from public.users where id = ${admin.id}`;
  await sql`delete from auth.users where id = ${admin.id}`;
});

const today = new Date();
const isoDay = (daysAgo: number) => new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - daysAgo * 86_400_000)
  .toISOString().slice(0, 10);

function ruleArb(): fc.Arbitrary<Rule> {
  const texts = fc.constantFrom(...CITIES.filter((c) => c !== null) as string[], ...REGIONS.filter((c) => c !== null) as string[],
    "oslo", "OS", "ø", "%", "_", "\\", "50%", "a_b", "NO", "se", "", "vest", "LAND");
  const dates = fc.constantFrom("2025-03-09", "2025-03-10", "2025-03-11", "2024-01-01", isoDay(2), isoDay(40), isoDay(200), isoDay(500));
  const field = fc.constantFrom(...TEXT, ...INTEGER, ...NUMBER, ...DATE, ...ARRAY, ...BOOLEAN);
  return field.chain((f) => {
    const kind = kindOf(f);
    return fc.constantFrom(...OPERATORS[kind]).chain((op): fc.Arbitrary<Rule> => {
      if (["null", "notNull", "isEmpty", "isNotEmpty"].includes(op)) {
        return fc.constantFrom<Rule>({ field: f, operator: op }, { field: f, operator: op, value: null }, { field: f, operator: op, value: "" });
      }
      let value: fc.Arbitrary<unknown>;
      if (kind === "text") value = op === "in" || op === "notIn" ? fc.array(texts, { maxLength: 4 }) : texts;
      else if (kind === "integer") {
        const n = fc.integer({ min: -1, max: 4 });
        value = op === "in" || op === "notIn" ? fc.array(n, { maxLength: 4 })
          : op.endsWith("etween") ? fc.tuple(n, n).map(([a, b]) => [Math.min(a, b), Math.max(a, b)]) : n;
      } else if (kind === "number") {
        const n = fc.constantFrom(0, 10, 50.5, 99.99, 100, 250.5, 1000, 2500.5, 5000);
        value = op.endsWith("etween") ? fc.tuple(n, n).map(([a, b]) => [Math.min(a, b), Math.max(a, b)]) : n;
      } else if (kind === "date") {
        value = op.endsWith("LastDays") ? fc.constantFrom(0, 7, 31, 90, 365, 1000)
          : op.endsWith("etween") ? fc.tuple(dates, dates).map(([a, b]) => (a <= b ? [a, b] : [b, a])) : dates;
      } else if (kind === "array") {
        value = f === "tag" ? fc.subarray([world.marker, ...world.tags].map((t) => (t.length % 2 ? t.toUpperCase() : t)))
          : fc.subarray([...CATEGORIES, "LIFTS", "scaffolding"]);
      } else value = fc.boolean();
      return value.map((v) => ({ field: f, operator: op, value: v }));
    });
  });
}

const groupArb: fc.Arbitrary<Group> = fc.letrec<{ group: Group; node: Rule | Group }>((tie) => ({
  group: fc.record({
    combinator: fc.constantFrom<"and" | "or">("and", "or"),
    not: fc.boolean(),
    rules: fc.array(tie("node"), { minLength: 1, maxLength: 4 }),
  }),
  node: fc.oneof({ maxDepth: 3, depthIdentifier: "group" }, ruleArb(), tie("group")),
})).group;

describe("evaluate_segment equals an independent evaluator", () => {
  it("for random definitions over a varied world", async () => {
    await fc.assert(
      fc.asyncProperty(groupArb, async (inner) => {
        const definition = { version: 1, combinator: "and", not: false,
          rules: [{ field: "tag", operator: "containsAny", value: [world.marker] }, inner] };
        const [{ now }] = await sql`select extract(epoch from now()) * 1000 as now`;
        const expected = facts.filter((f) => matchGroup(f, definition as Group, Number(now))).map((f) => f.customer_id).sort();
        const got = await evaluateAll(admin.id, definition);
        expect(got.ids).toEqual([...got.ids].sort()); // ascending by customer_id
        expect(got.ids.slice().sort()).toEqual(expected);
        expect(got.total).toBe(expected.length);
      }),
      { numRuns: 120, seed: 20261124 },
    );
  }, 600_000);

  it("finds members and non-members (the world is not degenerate)", async () => {
    const some = await evaluateAll(admin.id, { version: 1, combinator: "and", rules: [
      { field: "tag", operator: "containsAny", value: [world.marker] }, { field: "city", operator: "=", value: "oslo" }] });
    expect(some.total).toBeGreaterThan(0);
    expect(some.total).toBeLessThan(world.customerIds.length);
  });
});
