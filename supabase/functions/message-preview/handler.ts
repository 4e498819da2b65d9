// POST /functions/v1/message-preview: renders a template (or ad-hoc content) for one customer
// with the same renderer the dispatcher uses.
import { authenticate } from "../_shared/auth.ts";
import { asCaller } from "../_shared/db.ts";
import { HttpError, json, requireMethod, serveJson } from "../_shared/http.ts";
import { preferencesUrl } from "../_shared/messaging/links.ts";
import { MESSAGE_VARIABLES, render, variablesUsed, type Vars } from "../_shared/rendering/render.ts";
import { previewRequest } from "../_shared/messaging/schemas.ts";
import { parseWith, readJson } from "../_shared/validate.ts";

interface Content {
  subject?: string;
  text?: string;
  html?: string;
  title?: string;
}

export const handler = serveJson(async (req) => {
  requireMethod(req, "POST");
  const claims = await authenticate(req);
  const body = parseWith(previewRequest, await readJson(req));
  const ctx = await asCaller(claims, async (tx) => {
    await tx`select private.require_role('communications')`;
    const [row] = await tx<[{ r: { vars: Vars; template: (Content & { channel: string; version: number }) | null } }]>`
      select public.message_preview_context(${body.customer_id}, ${body.template_id ?? null}) as r`;
    return row.r;
  });
  const content: Content = ctx.template ?? (body.content as Content);
  if (ctx.template && ctx.template.channel !== body.channel) {
    throw new HttpError(400, "invalid_body", `template_id: the template is for ${ctx.template.channel}, not ${body.channel}`);
  }
  if (typeof content.text !== "string" || !content.text.trim()) {
    throw new HttpError(400, "invalid_body", "content.text: is required");
  }
  if (body.channel === "email" && (typeof content.subject !== "string" || !content.subject.trim())) {
    throw new HttpError(400, "invalid_body", "content.subject: an email needs a subject");
  }
  for (const field of ["subject", "text", "html", "title"] as const) {
    if (content[field] !== undefined && typeof content[field] !== "string") {
      throw new HttpError(400, "invalid_body", `content.${field}: must be a string`);
    }
    const unknown = variablesUsed(content[field]).find((v) => !(MESSAGE_VARIABLES as readonly string[]).includes(v));
    if (unknown) {
      throw new HttpError(400, "invalid_body", `content.${field}: unknown variable {{${unknown}}}; use ${MESSAGE_VARIABLES.join(", ")}`);
    }
  }
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
    text: render(content.text, vars),
    html: content.html !== undefined ? render(content.html, vars, { html: true }) : null,
  });
});
