// An independent evaluator of segment definitions v1 (docs/api.md §6) over customer facts rows,
// written from the contract, not from the SQL compiler: the property tests compare the two.
import { sql } from "./index.ts";

export interface Facts {
  customer_id: string;
  city: string | null;
  region: string | null;
  country_code: string | null;
  booking_count: number;
  engaged_campaigns_90d: number;
  total_spend: number;
  lifetime_value: number | null;
  risk_score: number | null;
  last_booking_at: Date | null;
  last_engaged_at: Date | null;
  created_at: Date;
  equipment_category: string[];
  tag: string[];
  consent_email: boolean;
  consent_sms: boolean;
  consent_push: boolean;
}

export type Rule = { field: string; operator: string; value?: unknown; id?: string };
export type Group = { combinator: "and" | "or"; not?: boolean; rules: Array<Rule | Group>; id?: string; version?: number };

export const TEXT = ["city", "region", "country_code"];
export const INTEGER = ["booking_count", "engaged_campaigns_90d"];
export const NUMBER = ["total_spend", "lifetime_value", "risk_score"];
export const DATE = ["last_booking_at", "last_engaged_at", "created_at"];
export const ARRAY = ["equipment_category", "tag"];
export const BOOLEAN = ["consent_email", "consent_sms", "consent_push"];

export const OPERATORS: Record<string, string[]> = {
  text: ["=", "!=", "in", "notIn", "contains", "doesNotContain", "beginsWith", "endsWith", "null", "notNull"],
  integer: ["=", "!=", "<", "<=", ">", ">=", "between", "notBetween", "in", "notIn", "null", "notNull"],
  number: ["=", "!=", "<", "<=", ">", ">=", "between", "notBetween", "null", "notNull"],
  date: ["<", "<=", ">", ">=", "between", "notBetween", "withinLastDays", "notWithinLastDays", "null", "notNull"],
  array: ["containsAny", "containsAll", "containsNone", "isEmpty", "isNotEmpty"],
  boolean: ["="],
};

export function kindOf(field: string): string {
  if (TEXT.includes(field)) return "text";
  if (INTEGER.includes(field)) return "integer";
  if (NUMBER.includes(field)) return "number";
  if (DATE.includes(field)) return "date";
  if (ARRAY.includes(field)) return "array";
  return "boolean";
}

const DAY = 86_400_000;
const dayStart = (d: string) => Date.parse(`${d}T00:00:00Z`);
const NEGATIVE = new Set(["!=", "notIn", "doesNotContain", "notBetween", "notWithinLastDays"]);

// Whether a customer's facts match a rule. `now` is the database's now() in ms.
export function matchRule(f: Facts, r: Rule, now: number): boolean {
  const raw = (f as unknown as Record<string, unknown>)[r.field];
  const kind = kindOf(r.field);
  const op = r.operator;
  if (op === "null") return raw === null;
  if (op === "notNull") return raw !== null;
  if (kind === "array") {
    const have = new Set(raw as string[]);
    if (op === "isEmpty") return have.size === 0;
    if (op === "isNotEmpty") return have.size > 0;
    const want = (r.value as string[]).map((v) => v.toLowerCase());
    if (op === "containsAny") return want.some((v) => have.has(v));
    if (op === "containsAll") return want.every((v) => have.has(v));
    return !want.some((v) => have.has(v)); // containsNone
  }
  if (kind === "boolean") return raw === r.value;
  // Negative operators: everyone outside the positive set, NULLs included.
  if (NEGATIVE.has(op)) {
    const positive = { "!=": "=", notIn: "in", doesNotContain: "contains", notBetween: "between", notWithinLastDays: "withinLastDays" }[op]!;
    return raw === null || !matchRule(f, { ...r, operator: positive }, now);
  }
  if (raw === null) return false;
  if (kind === "text") {
    const s = (raw as string).toLowerCase();
    const v = r.value as string | string[];
    if (op === "=") return s === (v as string).toLowerCase();
    if (op === "in") return (v as string[]).some((x) => x.toLowerCase() === s);
    if (op === "contains") return s.includes((v as string).toLowerCase());
    if (op === "beginsWith") return s.startsWith((v as string).toLowerCase());
    if (op === "endsWith") return s.endsWith((v as string).toLowerCase());
  }
  if (kind === "integer" || kind === "number") {
    const n = raw as number;
    const v = r.value as number | number[];
    switch (op) {
      case "=": return n === v;
      case "<": return n < (v as number);
      case "<=": return n <= (v as number);
      case ">": return n > (v as number);
      case ">=": return n >= (v as number);
      case "between": return n >= (v as number[])[0] && n <= (v as number[])[1];
      case "in": return (v as number[]).includes(n);
    }
  }
  if (kind === "date") {
    const t = (raw as Date).getTime();
    const v = r.value as string | string[] | number;
    switch (op) {
      case "<": return t < dayStart(v as string);
      case "<=": return t < dayStart(v as string) + DAY;
      case ">": return t >= dayStart(v as string) + DAY;
      case ">=": return t >= dayStart(v as string);
      case "between": return t >= dayStart((v as string[])[0]) && t < dayStart((v as string[])[1]) + DAY;
      case "withinLastDays": return t >= now - (v as number) * DAY;
    }
  }
  throw new Error(`evaluator: unhandled ${r.field} ${op}`);
}

export function matchGroup(f: Facts, g: Group, now: number): boolean {
  const results = g.rules.map((x) => ("rules" in x ? matchGroup(f, x as Group, now) : matchRule(f, x as Rule, now)));
  const combined = g.combinator === "or" ? results.some(Boolean) : results.every(Boolean);
  return g.not ? !combined : combined;
}

// Facts rows for the given customers, with numbers and dates as JS values.
export async function loadFacts(ids: string[]): Promise<Facts[]> {
  const rows = await sql`select * from public.customer_facts where customer_id = any(${ids}::uuid[])`;
  return rows.map((r) => ({
    ...(r as unknown as Facts),
    booking_count: Number(r.booking_count),
    engaged_campaigns_90d: Number(r.engaged_campaigns_90d),
    total_spend: Number(r.total_spend),
    lifetime_value: r.lifetime_value === null ? null : Number(r.lifetime_value),
    risk_score: r.risk_score === null ? null : Number(r.risk_score),
  }));
}

// Calls a database function as PostgREST would for the given user: role authenticated + claims.
export async function asUser<T>(userId: string, fn: (tx: any) => Promise<T>): Promise<T> {
  return (await sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true),
                    set_config('request.jwt.claims', ${JSON.stringify({ sub: userId, role: "authenticated" })}, true)`;
    return await fn(tx);
  })) as T;
}

// Every member of a definition through evaluate_segment, following next_after.
export async function evaluateAll(adminId: string, definition: unknown): Promise<{ total: number; ids: string[] }> {
  const ids: string[] = [];
  let after: string | null = null;
  let total = -1;
  for (;;) {
    const page: any = await asUser(adminId, async (tx) =>
      (await tx`select public.evaluate_segment(${tx.json(definition)}, 1000, ${after}::uuid) as r`)[0].r);
    total = Number(page.total);
    ids.push(...page.members.map((m: { customer_id: string }) => m.customer_id));
    if (page.next_after === null) break;
    after = page.next_after;
  }
  return { total, ids };
}
