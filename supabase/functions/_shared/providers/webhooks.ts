// Webhook signatures. SendGrid: ECDSA P-256 / SHA-256 over timestamp + raw body, public key as
// base64 DER (SPKI) from configuration. Twilio: HMAC-SHA1 over the public URL + sorted params.
import { createHmac, createPublicKey, createVerify, type KeyObject, timingSafeEqual } from "node:crypto";

const keys = new Map<string, KeyObject>();

export function sendgridPublicKey(base64Der: string): KeyObject {
  let key = keys.get(base64Der);
  if (!key) {
    key = createPublicKey({ key: Buffer.from(base64Der, "base64"), format: "der", type: "spki" });
    keys.set(base64Der, key);
  }
  return key;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export function verifySendgridSignature(opts: {
  publicKey: string;
  signature: string | null;
  timestamp: string | null;
  rawBody: Uint8Array;
  toleranceSeconds: number;
  now?: number;
}): SignatureCheck {
  if (!opts.signature || !opts.timestamp) return { ok: false, reason: "missing signature or timestamp header" };
  const ts = Number(opts.timestamp);
  if (!Number.isFinite(ts)) return { ok: false, reason: "the timestamp header is not a number" };
  const now = (opts.now ?? Date.now()) / 1000;
  if (Math.abs(now - ts) > opts.toleranceSeconds) return { ok: false, reason: "the timestamp is outside the tolerance" };
  let valid = false;
  try {
    // streamed: no copy of the body (Buffer.concat of a 250 KB batch costs more than the check)
    valid = createVerify("sha256").update(opts.timestamp, "utf8").update(opts.rawBody)
      .verify(sendgridPublicKey(opts.publicKey), Buffer.from(opts.signature, "base64"));
  } catch {
    valid = false;
  }
  return valid ? { ok: true } : { ok: false, reason: "the signature does not match" };
}

export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params).sort().reduce((acc, k) => acc + k + params[k], url);
  return createHmac("sha1", authToken).update(Buffer.from(data, "utf8")).digest("base64");
}

// The URL as Twilio may have signed it: with and without the scheme's default port.
export function urlVariants(url: string): string[] {
  const u = new URL(url);
  const defaultPort = u.protocol === "https:" ? "443" : u.protocol === "http:" ? "80" : "";
  const variants = new Set<string>([url]);
  if (u.port === "" && defaultPort) {
    variants.add(url.replace(`${u.protocol}//${u.host}`, `${u.protocol}//${u.hostname}:${defaultPort}`));
  } else if (u.port === defaultPort || u.port === "") {
    variants.add(url.replace(`${u.protocol}//${u.host}`, `${u.protocol}//${u.hostname}`));
  }
  // `new URL` drops a default port from host; rebuild both forms from the raw string too
  const m = /^(https?:\/\/)([^/:]+)(:\d+)?(\/.*)?$/.exec(url);
  if (m) {
    const [, scheme, host, port, rest = ""] = m;
    const def = scheme === "https://" ? ":443" : ":80";
    if (!port) variants.add(`${scheme}${host}${def}${rest}`);
    if (port === def) variants.add(`${scheme}${host}${rest}`);
  }
  return [...variants];
}

export function verifyTwilioSignature(opts: {
  authToken: string;
  signature: string | null;
  url: string;
  params: Record<string, string>;
}): SignatureCheck {
  if (!opts.signature) return { ok: false, reason: "missing X-Twilio-Signature" };
  const given = Buffer.from(opts.signature);
  for (const url of urlVariants(opts.url)) {
    const expected = Buffer.from(twilioSignature(opts.authToken, url, opts.params));
    if (expected.length === given.length && timingSafeEqual(expected, given)) return { ok: true };
  }
  return { ok: false, reason: "the signature does not match" };
}

// Postgres text cannot hold NUL (U+0000): a provider value carrying one (Body=STOP%00) is cleaned
// after the signature check, so the rest of it (the STOP) still counts.
export function withoutNul<T>(value: T): T {
  if (typeof value === "string") return value.replaceAll("\u0000", "") as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [withoutNul(k), withoutNul(v)])) as T;
  }
  return value;
}

// SendGrid events that decide who may be contacted: applied while the webhook is answered, so the
// dispatcher's send-time check sees them however far behind the inbox is (docs/webhooks.md).
export const SENDGRID_CONTACT_EVENTS: ReadonlySet<string> = new Set([
  "unsubscribe", "group_unsubscribe", "group_resubscribe", "spamreport", "bounce", "dropped",
]);

export function sendgridContactEvents(events: unknown[]): unknown[] {
  return events.filter((e) =>
    e !== null && typeof e === "object" && SENDGRID_CONTACT_EVENTS.has(String((e as Record<string, unknown>).event))
  );
}

// Twilio error 21610: the number replied STOP to the carrier.
export const TWILIO_OPT_OUT_ERROR = "21610";

export async function readForm(req: Request): Promise<Record<string, string>> {
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(await req.text())) params[k] = v;
  return params;
}

// The public URL Twilio called: PUBLIC_FUNCTIONS_URL/<name> plus the request's query string.
export function publicUrl(req: Request, name: string, base: string): string {
  return `${base.replace(/\/$/, "")}/${name}${new URL(req.url).search}`;
}
