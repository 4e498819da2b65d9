// POST /functions/v1/message-preview: renders a template (or ad-hoc content) for one customer
// with the same renderer the dispatcher uses; ad-hoc content passes bulk-message's rules.
import { HttpError, json, MiB, serveJson } from "../_shared/http.ts";
import { preferencesUrl } from "../_shared/messaging/links.ts";
import { render, type Vars } from "../_shared/rendering/render.ts";
import { previewRequest } from "../_shared/messaging/schemas.ts";
import { asStaff, readStaffRequest } from "../_shared/staff.ts";

interface Content {
  subject?: string;
  text?: string;
  html?: string;
  title?: string;
}

// an HTML body of 500,000 characters fits.
const MAX_BODY_BYTES = 4 * MiB;

export const handler = serveJson(async (req) => {
  const { claims, body } = await readStaffRequest(req, "communications", previewRequest);
  const ctx = await asStaff(claims, "communications", async (tx) => {
    // ad-hoc content passes the same rules as bulk-message's (the SQL has the last word)
    if (body.content !== undefined) await tx`select public.check_message_content(${body.channel}, ${tx.json(body.content as never)})`;
    const [row] = await tx<[{ r: { vars: Vars; template: (Content & { channel: string; version: number }) | null } }]>`
      select public.message_preview_context(${body.customer_id}, ${body.template_id ?? null}) as r`;
    return row.r;
  });
  if (ctx.template && ctx.template.channel !== body.channel) {
    throw new HttpError(400, "invalid_body", `template_id: the template is for ${ctx.template.channel}, not ${body.channel}`);
  }
  const content: Content = ctx.template ?? (body.content as Content);
  const text = content.text ?? "";
  const vars: Vars = {
    ...ctx.vars,
    unsubscribe_url: `${Deno.env.get("PUBLIC_FUNCTIONS_URL") ?? ""}/unsubscribe?r=preview`,
    preferences_url: preferencesUrl(body.customer_id),
  };
  return json(200, {
    channel: body.channel,
    template_version: ctx.template?.version ?? null,
    subject: content.subject !== undefined ? render(content.subject, vars) : null,
    title: content.title !== undefined ? render(content.title, vars) : null,
    text: render(text, vars),
    html: content.html !== undefined ? render(content.html, vars, { html: true }) : null,
  });
}, { maxBodyBytes: MAX_BODY_BYTES });
