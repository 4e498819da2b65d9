// The shapes of the messaging requests (docs/api.md §8), built from the limits SQL enforces
// (private.messaging_rules(), generated into ../generated/constants.ts): zod gives the friendly
// 400 naming the field; the RPC behind it checks the same rules again and has the last word.
import { z } from "zod";
import { CHANNELS, MESSAGING_RULES } from "../generated/constants.ts";

export const channel = z.enum(CHANNELS);
export type Channel = (typeof CHANNELS)[number];
const id = z.guid();

const BLANK = new Set<string>(MESSAGING_RULES.blank_characters);
// Blank as SQL's private.is_blank: only the rules' whitespace.
export const isBlank = (s: string): boolean => [...s].every((ch) => BLANK.has(ch));
// Characters as Postgres counts them (code points, not UTF-16 units).
export const charLength = (s: string): number => [...s].length;

interface TextRule {
  readonly required: boolean;
  readonly max_chars: number;
}

function text(rule: TextRule, blankMessage = "is required") {
  const s = z.string({ error: "must be a string" })
    .refine((v) => !rule.required || !isBlank(v), { message: blankMessage })
    .refine((v) => charLength(v) <= rule.max_chars, { message: `at most ${rule.max_chars} characters` })
    // the limit in the functions' OpenAPI document (JSON Schema counts code points too)
    .meta({ maxLength: rule.max_chars });
  return rule.required ? s : s.optional();
}

// The content each channel takes: {subject, text, html?} for email, {text} for sms, {title?, text} for push.
export const contentSchemas = Object.fromEntries(CHANNELS.map((ch) => {
  const fields = MESSAGING_RULES.content[ch] as Record<string, TextRule>;
  return [ch, z.strictObject(Object.fromEntries(Object.entries(fields).map(([name, rule]) =>
    [name, text(rule, name === "subject" ? "an email needs a subject" : "is required")])))];
})) as unknown as Record<Channel, z.ZodType>;

export const audience = z.union([
  z.strictObject({ segment_id: id }),
  z.strictObject({ definition: z.record(z.string(), z.unknown()) }),
  z.strictObject({
    customer_ids: z.array(id).min(MESSAGING_RULES.request.customer_ids.min_items)
      .max(MESSAGING_RULES.request.customer_ids.max_items),
  }),
], { error: "give exactly one of segment_id, definition, customer_ids" });

// Adds the issues of the channel's content schema under content.*.
function checkContent(body: { channel: Channel; content?: Record<string, unknown> }, ctx: z.RefinementCtx): void {
  if (body.content === undefined) return;
  const parsed = contentSchemas[body.channel].safeParse(body.content);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = ["content", ...issue.path] as (string | number)[];
      const message = issue.code === "unrecognized_keys"
        ? `not part of ${body.channel} content; use ${Object.keys(MESSAGING_RULES.content[body.channel]).join(", ")}`
        : issue.message;
      if (issue.code === "unrecognized_keys") path.push(...(issue as { keys: string[] }).keys.slice(0, 1));
      ctx.addIssue({ code: "custom", path, message });
    }
  }
}

const throttle = MESSAGING_RULES.request.throttle_per_minute;

export const bulkMessage = z.strictObject({
  name: text(MESSAGING_RULES.request.name),
  channel,
  template_id: id.optional(),
  content: z.record(z.string(), z.unknown()).optional(),
  audience,
  scheduled_at: z.iso.datetime({ offset: true }).optional(),
  throttle_per_minute: z.number().int().min(throttle.min).max(throttle.max).optional(),
  // local-time fields: shape only here, the rules (times, 24 h, quiet hours) are checked in SQL
  send_window: z.strictObject({ start: z.string(), end: z.string() }).optional(),
  local_send_time: z.string().optional(),
  quiet_hours_override: z.strictObject({ reason: z.string() }).optional(),
}).superRefine((body, ctx) => {
  if ((body.template_id === undefined) === (body.content === undefined)) {
    ctx.addIssue({ code: "custom", path: ["template_id"], message: "give exactly one of template_id and content" });
    return;
  }
  checkContent(body, ctx);
});
export type BulkMessage = z.infer<typeof bulkMessage>;

// The Idempotency-Key header: visible ASCII, as long as SQL keeps (private.messaging_rules()).
export const idempotencyKey = z.string()
  .regex(/^[\x21-\x7e]+$/, { message: "must be visible ASCII characters (a UUID is a good key)" })
  .max(MESSAGING_RULES.request.idempotency_key.max_chars);

export const audienceRequest = z.strictObject({
  audience,
  campaign_id: id.optional(),
});

// message-preview: the same content rules as bulk-message.
export const previewRequest = z.strictObject({
  customer_id: id,
  channel,
  template_id: id.optional(),
  content: z.record(z.string(), z.unknown()).optional(),
}).superRefine((body, ctx) => {
  if ((body.template_id === undefined) === (body.content === undefined)) {
    ctx.addIssue({ code: "custom", path: ["template_id"], message: "give exactly one of template_id and content" });
    return;
  }
  checkContent(body, ctx);
});
