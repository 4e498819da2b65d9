// GET/POST /functions/v1/consent-confirm?r=<recipient>&s=<signature>: the double opt-in link.
// GET shows what is being confirmed (mail scanners prefetch links, so GET changes nothing); POST
// confirms and records the proof (time, IP, user agent, the link). Answers a page, or JSON when
// the client asks for it (Accept: application/json or ?format=json). Expired, reused, superseded,
// tampered or foreign links get a clear error and change nothing.
import { asService } from "../_shared/db.ts";
import { json, requireMethod, serveJson } from "../_shared/http.ts";
import { escapeHtml } from "../_shared/rendering/render.ts";
import { verifyConfirmSignature } from "../_shared/consent/links.ts";
import { UUID } from "../_shared/validate.ts";

interface Outcome {
  outcome: "pending" | "confirmed" | "expired" | "used" | "superseded" | "cancelled" | "not_found";
  channel?: string;
  wording?: string;
  wording_version?: number;
  expires_at?: string;
}

const REFUSALS: Record<string, [number, string]> = {
  bad_link: [400, "This confirmation link is not valid (it was changed or is incomplete). Nothing was changed."],
  not_found: [404, "This is not a confirmation link of ours. Nothing was changed."],
  expired: [410, "This confirmation link has expired. Nothing was changed; ask for a new one."],
  used: [409, "This confirmation link was already used. Your confirmation is on record; nothing was changed."],
  superseded: [410, "A newer confirmation link was sent; use the latest one. Nothing was changed."],
  cancelled: [409, "This request was withdrawn (the consent was turned off since). Nothing was changed."],
};

function wantsJson(req: Request, url: URL): boolean {
  return url.searchParams.get("format") === "json" || (req.headers.get("accept") ?? "").includes("application/json");
}

function page(title: string, body: string, status: number): Response {
  return new Response(
    `<!doctype html><meta charset="utf-8"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>` +
      `<body style="font-family:sans-serif;max-width:34rem;margin:3rem auto">${body}</body>`,
    { status, headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" } },
  );
}

function refuse(code: string, asJson: boolean): Response {
  const [status, message] = REFUSALS[code];
  return asJson
    ? json(status, { error: { code, message, details: null } }, { "Cache-Control": "no-store" })
    : page("Confirmation", `<h1>Not confirmed</h1><p>${escapeHtml(message)}</p>`, status);
}

function clientIp(req: Request): string | null {
  const forwarded = req.headers.get("x-forwarded-for");
  if (forwarded) return forwarded.split(",")[0].trim() || null;
  return req.headers.get("x-real-ip") ?? req.headers.get("cf-connecting-ip");
}

export const handler = serveJson(async (req) => {
  requireMethod(req, "GET", "POST");
  const url = new URL(req.url);
  const asJson = wantsJson(req, url);
  const recipientId = url.searchParams.get("r") ?? "";
  const signature = url.searchParams.get("s") ?? "";
  if (!UUID.test(recipientId) || !signature || !verifyConfirmSignature(recipientId, signature)) return refuse("bad_link", asJson);

  if (req.method === "GET") {
    const [row] = await asService((tx) =>
      tx<Array<{ d: Outcome | null }>>`select private.describe_consent_confirmation(${recipientId}) as d`
    );
    const d = row?.d;
    if (!d) return refuse("not_found", asJson);
    if (d.outcome !== "pending") return refuse(d.outcome, asJson);
    if (asJson) return json(200, { status: "pending", channel: d.channel, wording: d.wording, wording_version: d.wording_version, expires_at: d.expires_at });
    return page("Confirm", `<h1>Please confirm</h1><blockquote>${escapeHtml(d.wording ?? "")}</blockquote>` +
      `<form method="post"><button type="submit">Yes, I agree</button></form>` +
      `<p style="color:#555">If you did not ask for this, close this page and nothing changes.</p>`, 200);
  }

  const link = `${url.origin}${url.pathname}?r=${recipientId}`; // the link, without its signature
  const [row] = await asService((tx) =>
    tx<Array<{ d: Outcome }>>`select private.confirm_consent_by_link(${recipientId}, ${clientIp(req)}, ${req.headers.get("user-agent")}, ${link}) as d`
  );
  if (row.d.outcome !== "confirmed") return refuse(row.d.outcome, asJson);
  if (asJson) return json(200, { status: "confirmed", channel: row.d.channel });
  return page("Confirmed", `<h1>Thank you</h1><p>You will receive our ${escapeHtml(row.d.channel ?? "")} messages. You can unsubscribe at any time.</p>`, 200);
});
