// Segment language v1 <-> react-querybuilder. The fields and operators come from the database's
// whitelist (public.segment_whitelist()); values are passed through with the least coercion a
// form needs (numbers typed as text become numbers, comma lists become arrays), so that anything
// wrong is reported by validate_segment itself, with its path and message.
import type { Field, RuleGroupType, RuleType } from "react-querybuilder";
import { prepareRuleGroup } from "react-querybuilder";

export type Kind = "text" | "integer" | "number" | "date" | "array" | "boolean";
export interface WhitelistEntry {
  field: string;
  kind: Kind;
  operators: string[];
}

export interface SegmentError {
  path: string;
  code: string;
  message: string;
}

export interface Definition {
  version: 1;
  combinator: "and" | "or";
  not: boolean;
  rules: (DefRule | DefGroup)[];
}
interface DefGroup {
  combinator: "and" | "or";
  not: boolean;
  rules: (DefRule | DefGroup)[];
}
interface DefRule {
  field: string;
  operator: string;
  value?: unknown;
}

const UNARY = new Set(["null", "notNull", "isEmpty", "isNotEmpty"]);
const RANGE = new Set(["between", "notBetween"]);
const LIST = new Set(["in", "notIn"]);
const DAYS = new Set(["withinLastDays", "notWithinLastDays"]);

const FIELD_LABELS: Record<string, string> = {
  city: "City", region: "Region", country_code: "Country code", booking_count: "Bookings",
  engaged_campaigns_90d: "Campaigns engaged (90 days)", total_spend: "Total spend", lifetime_value: "Lifetime value",
  risk_score: "Risk score", last_booking_at: "Last booking", last_engaged_at: "Last engaged", created_at: "Customer since",
  equipment_category: "Equipment category", tag: "Tag", consent_email: "Email consent", consent_sms: "SMS consent",
  consent_push: "Push consent",
};
const OPERATOR_LABELS: Record<string, string> = {
  "=": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥", in: "in", notIn: "not in", contains: "contains",
  doesNotContain: "does not contain", beginsWith: "begins with", endsWith: "ends with", null: "is empty",
  notNull: "is set", between: "between", notBetween: "not between", withinLastDays: "within last (days)",
  notWithinLastDays: "not within last (days)", containsAny: "has any of", containsAll: "has all of",
  containsNone: "has none of", isEmpty: "has none", isNotEmpty: "has some",
};

export const fieldLabel = (f: string) => FIELD_LABELS[f] ?? f;

export type Option = { name: string; value: string; label: string; [key: string]: unknown };

// react-querybuilder fields from the whitelist; the option lists for tags and categories are data.
export function builderFields(whitelist: WhitelistEntry[], options: { tag: Option[]; equipment_category: Option[] }): Field[] {
  return whitelist.map((w) => {
    const field: Field = {
      name: w.field,
      label: fieldLabel(w.field),
      kind: w.kind,
      operators: w.operators.map((o) => ({ name: o, value: o, label: OPERATOR_LABELS[o] ?? o, arity: UNARY.has(o) ? "unary" : undefined })),
    } as Field;
    if (w.kind === "array") {
      field.valueEditorType = "multiselect";
      field.values = w.field === "tag" ? options.tag : options.equipment_category;
      field.defaultValue = [];
    } else if (w.kind === "boolean") {
      field.valueEditorType = "select";
      field.values = [{ name: "true", value: "true", label: "given" }, { name: "false", value: "false", label: "not given" }];
      field.defaultValue = "true";
    }
    return field;
  });
}

export function inputTypeFor(kind: Kind | undefined, operator: string): string {
  if (kind === "date") return DAYS.has(operator) ? "number" : "date";
  if ((kind === "integer" || kind === "number") && !LIST.has(operator)) return "number";
  return "text";
}

const NUMERIC = /^\s*-?\d+(\.\d+)?\s*$/;
function num(v: unknown): unknown {
  return typeof v === "string" && NUMERIC.test(v) ? Number(v) : v;
}
function list(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v === null || v === undefined || v === "") return [];
  return String(v).split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function ruleValue(kind: Kind | undefined, operator: string, value: unknown): unknown {
  if (RANGE.has(operator)) {
    const [lo, hi] = list(value);
    return kind === "date" ? [lo ?? "", hi ?? ""] : [num(lo ?? ""), num(hi ?? "")];
  }
  switch (kind) {
    case "text":
      return LIST.has(operator) ? list(value) : value;
    case "integer":
    case "number":
      return LIST.has(operator) ? list(value).map(num) : num(value);
    case "date":
      return DAYS.has(operator) ? num(value) : value;
    case "array":
      return list(value);
    case "boolean":
      return value === "true" ? true : value === "false" ? false : value;
    default:
      return value;
  }
}

// The builder's query as a v1 definition: only the keys the language allows, same order and nesting
// (so a path the database names is the builder's path too).
export function toDefinition(query: RuleGroupType, kinds: Map<string, Kind>): Definition {
  const group = (g: RuleGroupType): DefGroup => ({
    combinator: g.combinator === "or" ? "or" : "and",
    not: Boolean(g.not),
    rules: g.rules.map((r) => ("rules" in r ? group(r as RuleGroupType) : rule(r as RuleType))),
  });
  const rule = (r: RuleType): DefRule => {
    const out: DefRule = { field: r.field, operator: r.operator };
    if (!UNARY.has(r.operator)) out.value = ruleValue(kinds.get(r.field), r.operator, r.value);
    return out;
  };
  return { version: 1, ...group(query) };
}

// A saved definition back into the builder.
export function fromDefinition(def: unknown): RuleGroupType {
  const group = (g: Record<string, unknown>): RuleGroupType => ({
    combinator: g.combinator === "or" ? "or" : "and",
    not: Boolean(g.not),
    rules: ((g.rules as Record<string, unknown>[]) ?? []).map((r) =>
      "rules" in r
        ? group(r)
        : ({
            field: String(r.field),
            operator: String(r.operator),
            value: typeof r.value === "boolean" ? String(r.value) : (r.value ?? ""),
          } as RuleType),
    ),
  });
  return prepareRuleGroup(group((def ?? {}) as Record<string, unknown>));
}

export function emptyQuery(): RuleGroupType {
  return prepareRuleGroup({ combinator: "and", not: false, rules: [] });
}

// "$.rules[1].rules[0].value[0]" -> "1.0" (the builder's path of the rule, or of the group when the
// path names a group). Errors on the whole definition map to "".
export function errorTarget(path: string): string {
  const idx: number[] = [];
  const re = /\.rules\[(\d+)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path))) idx.push(Number(m[1]));
  return idx.join(".");
}

// The errors of a 22023 refusal: its detail holds validate_segment's array.
export function errorsFromDetail(details: unknown, message: string): SegmentError[] {
  if (typeof details === "string") {
    try {
      const parsed = JSON.parse(details);
      if (Array.isArray(parsed)) return parsed as SegmentError[];
    } catch {
      /* not JSON */
    }
  }
  const m = /(\$[^\s:]*)\s*:\s*(.*)$/.exec(message);
  return m ? [{ path: m[1], code: "invalid", message: m[2] }] : [];
}
