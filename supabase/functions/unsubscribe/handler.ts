// GET/POST /functions/v1/unsubscribe?r=<recipient>&s=<signature>: the link in every message.
// GET shows a confirmation (mail scanners prefetch links); POST unsubscribes (RFC 8058 one-click).
import { asService } from "../_shared/db.ts";
import { errorResponse, requireMethod, serveJson } from "../_shared/http.ts";
import { verify } from "../_shared/messaging/links.ts";

function page(body: string, status = 200): Response {
  return new Response(`<!doctype html><meta charset="utf-8"><title>Unsubscribe</title><body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">${body}</body>`,
    { status, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

export const handler = serveJson(async (req) => {
  requireMethod(req, "GET", "POST");
  const url = new URL(req.url);
  const recipientId = url.searchParams.get("r") ?? "";
  const signature = url.searchParams.get("s") ?? "";
  if (!/^[0-9a-f-]{36}$/i.test(recipientId) || !verify(recipientId, signature)) {
    return errorResponse(400, "bad_link", "this unsubscribe link is not valid");
  }
  const [recipient] = await asService((tx) =>
    tx<Array<{ customer_id: string; channel: string }>>`select customer_id, channel from public.campaign_recipients where id = ${recipientId}`
  );
  if (!recipient) return errorResponse(404, "not_found", "this unsubscribe link is not valid any more");
  if (req.method === "GET") {
    return page(`<p>Stop receiving ${recipient.channel} messages from us?</p><form method="post"><button type="submit">Unsubscribe</button></form>`);
  }
  await asService((tx) =>
    tx`select public.set_customer_consent(${recipient.customer_id}, ${recipient.channel}, false, 'self_service', 'unsubscribe link')`
  );
  return page(`<p>You are unsubscribed from ${recipient.channel} messages.</p>`);
});
