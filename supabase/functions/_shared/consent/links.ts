// Double opt-in confirmation links: the confirmation message's recipient id, signed with the link
// secret under its own prefix, so an unsubscribe signature never passes as a confirmation.
import { env } from "../env.ts";
import { sign, verify } from "../messaging/links.ts";

const PREFIX = "consent-confirm:";

export function confirmSignature(recipientId: string): string {
  return sign(PREFIX + recipientId);
}

export function verifyConfirmSignature(recipientId: string, signature: string): boolean {
  return verify(PREFIX + recipientId, signature);
}

export function confirmUrl(recipientId: string): string {
  const base = env("PUBLIC_FUNCTIONS_URL", "http://127.0.0.1:54321/functions/v1");
  return `${base}/consent-confirm?r=${recipientId}&s=${confirmSignature(recipientId)}`;
}

// Confirmation messages carry {{confirm_url}}, which SQL accepts in no staff-written content; the
// dispatcher fills it before rendering (HTML-escaped in HTML bodies).
export function fillConfirmUrl(text: string | null, recipientId: string, opts: { html?: boolean } = {}): string | null {
  if (text === null || !text.includes("{{confirm_url}}")) return text;
  const url = confirmUrl(recipientId);
  return text.replaceAll("{{confirm_url}}", opts.html ? url.replace(/&/g, "&amp;") : url);
}
