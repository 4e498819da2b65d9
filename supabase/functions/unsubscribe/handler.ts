// GET/POST /functions/v1/unsubscribe?r=<recipient>&c=<campaign>&e=<expiry>&s=<signature>: the link in
// every message and in List-Unsubscribe. GET shows a confirmation (mail scanners prefetch links);
// POST unsubscribes (RFC 8058 one-click: the body is "List-Unsubscribe=One-Click"). Replaying a
// link changes nothing: the consent is revoked once.
import { asService } from "../_shared/db.ts";
import { errorResponse, requireMethod, serveJson } from "../_shared/http.ts";
import { checkUnsubscribeLink } from "../_shared/messaging/links.ts";

function page(body: string, status = 200): Response {
  return new Response(`<!doctype html><meta charset="utf-8"><title>Unsubscribe</title><body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">${body}</body>`,
    { status, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

export const handler = serveJson(async (req) => {
  requireMethod(req, "GET", "POST");
  const link = checkUnsubscribeLink(new URL(req.url).searchParams);
  if (!link.ok) return errorResponse(link.status, link.code, link.message);
  if (req.method === "GET") {
    const [recipient] = await asService((tx) =>
      tx<Array<{ channel: string }>>`select channel from public.campaign_recipients where id = ${link.recipientId} and campaign_id = ${link.campaignId}`
    );
    if (!recipient) return errorResponse(404, "not_found", "this unsubscribe link is not valid any more");
    return page(`<p>Stop receiving ${recipient.channel} messages from us?</p><form method="post"><button type="submit">Unsubscribe</button></form>`);
  }
  const [row] = await asService((tx) =>
    tx<[{ r: { found: boolean; channel?: string; changed?: boolean } }]>`select private.unsubscribe_from_link(${link.recipientId}, ${link.campaignId}) as r`
  );
  if (!row.r.found) return errorResponse(404, "not_found", "this unsubscribe link is not valid any more");
  return page(`<p>You are unsubscribed from ${row.r.channel} messages.</p>`);
});
