// Signed unsubscribe and preference links: HMAC-SHA256, keyed by LINK_SIGNING_SECRET.
// Unsubscribe links are signed per recipient and campaign and expire (messaging_settings
// 'unsubscribe'.link_ttl_days, default 90): ?r=<recipient>&c=<campaign>&e=<expiry, epoch s>&s=<signature>.
import { createHmac, timingSafeEqual } from "node:crypto";
import { DEFAULT_JWT_SECRET, env } from "../env.ts";

function secret(): string {
  return env("LINK_SIGNING_SECRET", env("SUPABASE_JWT_SECRET", DEFAULT_JWT_SECRET));
}

export function sign(value: string): string {
  return createHmac("sha256", secret()).update(value).digest("base64url");
}

export function verify(value: string, signature: string): boolean {
  const expected = Buffer.from(sign(value));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

// RFC 8058 wants an HTTPS link; plain HTTP is accepted only on loopback (the local stack).
export function functionsBase(): string {
  const base = env("PUBLIC_FUNCTIONS_URL", "http://127.0.0.1:54321/functions/v1").replace(/\/$/, "");
  const u = new URL(base);
  if (u.protocol !== "https:" && !["127.0.0.1", "localhost", "[::1]"].includes(u.hostname)) {
    throw new Error(`PUBLIC_FUNCTIONS_URL must be https (List-Unsubscribe one-click links, RFC 8058): ${base}`);
  }
  return base;
}

export function unsubscribePayload(recipientId: string, campaignId: string, expires: number): string {
  return `unsubscribe:${recipientId}:${campaignId}:${expires}`;
}

export function unsubscribeUrl(recipientId: string, campaignId: string, ttlDays: number, now = Date.now()): string {
  const expires = Math.floor(now / 1000) + Math.round(ttlDays * 86_400);
  const s = sign(unsubscribePayload(recipientId, campaignId, expires));
  return `${functionsBase()}/unsubscribe?r=${recipientId}&c=${campaignId}&e=${expires}&s=${s}`;
}

export type LinkCheck = { ok: true; recipientId: string; campaignId: string } | { ok: false; status: number; code: string; message: string };

export function checkUnsubscribeLink(params: URLSearchParams, now = Date.now()): LinkCheck {
  const r = params.get("r") ?? "";
  const c = params.get("c") ?? "";
  const e = params.get("e") ?? "";
  const s = params.get("s") ?? "";
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  if (!uuid.test(r) || !uuid.test(c) || !/^[0-9]{1,12}$/.test(e) || !verify(unsubscribePayload(r, c, Number(e)), s)) {
    return { ok: false, status: 400, code: "bad_link", message: "this unsubscribe link is not valid" };
  }
  if (Number(e) * 1000 < now) {
    return { ok: false, status: 410, code: "link_expired", message: "this unsubscribe link has expired; use the preferences page or reply to us" };
  }
  return { ok: true, recipientId: r.toLowerCase(), campaignId: c.toLowerCase() };
}

export function preferencesUrl(customerId: string): string {
  const base = env("PREFERENCES_URL", "http://127.0.0.1:3000/preferences");
  return `${base}?c=${customerId}&s=${sign(customerId)}`;
}
