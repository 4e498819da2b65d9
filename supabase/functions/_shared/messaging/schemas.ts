// The shapes of the messaging requests (docs/api.md §8). The SQL behind them checks again.
import { z } from "zod";

export const channel = z.enum(["email", "sms", "push"]);
const id = z.guid();

export const audience = z.union([
  z.strictObject({ segment_id: id }),
  z.strictObject({ definition: z.record(z.string(), z.unknown()) }),
  z.strictObject({ customer_ids: z.array(id).min(1).max(100_000) }),
], { error: "give exactly one of segment_id, definition, customer_ids" });

const emailContent = z.strictObject({
  subject: z.string().trim().min(1).max(300),
  text: z.string().trim().min(1).max(100_000),
  html: z.string().max(500_000).optional(),
});
const smsContent = z.strictObject({ text: z.string().trim().min(1).max(1600) });
const pushContent = z.strictObject({ title: z.string().max(200).optional(), text: z.string().trim().min(1).max(4000) });

export const bulkMessage = z.strictObject({
  name: z.string().trim().min(1).max(200),
  channel,
  template_id: id.optional(),
  content: z.record(z.string(), z.unknown()).optional(),
  audience,
  scheduled_at: z.iso.datetime({ offset: true }).optional(),
  throttle_per_minute: z.number().int().min(1).max(100_000).optional(),
}).superRefine((body, ctx) => {
  if ((body.template_id === undefined) === (body.content === undefined)) {
    ctx.addIssue({ code: "custom", path: ["template_id"], message: "give exactly one of template_id and content" });
    return;
  }
  if (body.content !== undefined) {
    const shape = body.channel === "email" ? emailContent : body.channel === "sms" ? smsContent : pushContent;
    const parsed = shape.safeParse(body.content);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: "custom", path: ["content", ...issue.path] as (string | number)[], message: issue.message });
      }
    }
  }
});
export type BulkMessage = z.infer<typeof bulkMessage>;

export const audienceRequest = z.strictObject({
  audience,
  campaign_id: id.optional(),
});

export const previewRequest = z.strictObject({
  customer_id: id,
  channel,
  template_id: id.optional(),
  content: z.record(z.string(), z.unknown()).optional(),
}).superRefine((body, ctx) => {
  if ((body.template_id === undefined) === (body.content === undefined)) {
    ctx.addIssue({ code: "custom", path: ["template_id"], message: "give exactly one of template_id and content" });
  }
});
