// The export's query parameters: customer_id (uuid), types (comma-separated event types),
// since and until (ISO date or date-time; a date is midnight UTC). Each bad one is named.
import { z } from "zod";

import { TIMELINE_EVENT_TYPES } from "../_shared/generated/constants.ts";
import { UUID } from "../_shared/validate.ts";

// The event types SQL allows (customer_timeline_events.event_type), generated from the database.
export const EVENT_TYPES = TIMELINE_EVENT_TYPES;

const PARAMETERS = ["customer_id", "types", "since", "until"];
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

// A real instant from an ISO date or date-time (no 2026-02-30, no 25:00), as an ISO string.
function instant(value: string, ctx: z.RefinementCtx): string {
  const m = ISO.exec(value);
  if (m) {
    const [, y, mo, d, h = "00", mi = "00", s = "00"] = m;
    const day = new Date(Date.UTC(+y, +mo - 1, +d));
    const valid = day.getUTCFullYear() === +y && day.getUTCMonth() === +mo - 1 && day.getUTCDate() === +d &&
      +h < 24 && +mi < 60 && +s < 60;
    const parsed = Date.parse(m[4] ? (m[7] ? value.replace(" ", "T") : `${value.replace(" ", "T")}Z`) : `${value}T00:00:00Z`);
    if (valid && !Number.isNaN(parsed)) return new Date(parsed).toISOString();
  }
  ctx.addIssue({ code: "custom", message: `must be an ISO date (2026-05-03) or date-time (2026-05-03T08:00:00Z); got ${JSON.stringify(value)}` });
  return z.NEVER;
}

export const exportParams = z.object({
  customer_id: z.string({ error: "is required" }).regex(UUID, { error: (iss) => `must be a uuid; got ${JSON.stringify(iss.input)}` }),
  types: z.string().optional().transform((value, ctx) => {
    if (value === undefined) return null;
    const types = value.split(",").map((t) => t.trim());
    const unknown = types.find((t) => !(EVENT_TYPES as readonly string[]).includes(t));
    if (unknown !== undefined) {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(unknown)} is not an event type; use ${EVENT_TYPES.join(", ")}` });
      return z.NEVER;
    }
    return [...new Set(types)];
  }),
  since: z.string().optional().transform((v, ctx) => (v === undefined ? null : instant(v, ctx))),
  until: z.string().optional().transform((v, ctx) => (v === undefined ? null : instant(v, ctx))),
}).superRefine((p, ctx) => {
  if (p.since && p.until && p.since > p.until) {
    ctx.addIssue({ code: "custom", path: ["since"], message: `${p.since} is after until (${p.until})` });
  }
});

export type ExportParams = z.infer<typeof exportParams>;

export interface ParamProblem {
  parameter: string;
  message: string;
}

// Parses the query string; the problems name their parameter.
export function parseExportParams(search: URLSearchParams): { ok: true; params: ExportParams } | { ok: false; problems: ParamProblem[] } {
  const problems: ParamProblem[] = [];
  const raw: Record<string, string> = {};
  for (const key of new Set(search.keys())) {
    if (!PARAMETERS.includes(key)) {
      problems.push({ parameter: key, message: `is not a parameter; use ${PARAMETERS.join(", ")}` });
    } else if (search.getAll(key).length > 1) {
      problems.push({ parameter: key, message: "is given more than once" });
    } else {
      raw[key] = search.get(key)!;
    }
  }
  const result = exportParams.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push({ parameter: String(issue.path[0] ?? "query"), message: issue.message });
  }
  if (problems.length > 0 || !result.success) return { ok: false, problems };
  return { ok: true, params: result.data };
}
