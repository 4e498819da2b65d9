// Signed unsubscribe and preference links: HMAC-SHA256 over the id, keyed by LINK_SIGNING_SECRET.
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

export function unsubscribeUrl(recipientId: string): string {
  const base = env("PUBLIC_FUNCTIONS_URL", "http://127.0.0.1:54321/functions/v1");
  return `${base}/unsubscribe?r=${recipientId}&s=${sign(recipientId)}`;
}

export function preferencesUrl(customerId: string): string {
  const base = env("PREFERENCES_URL", "http://127.0.0.1:3000/preferences");
  return `${base}?c=${customerId}&s=${sign(customerId)}`;
}
