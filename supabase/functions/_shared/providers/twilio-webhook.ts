// What Twilio's webhooks (twilio-inbound, twilio-status) share: a POST of form fields, signed with
// X-Twilio-Signature over the public URL; refused with 401 unless the signature matches.
import { env } from "../env.ts";
import { HttpError, KiB, requireMethod, serveJson } from "../http.ts";
import { publicUrl, readForm, verifyTwilioSignature, withoutNul } from "./webhooks.ts";

// Twilio posts a few KB of form fields (a 1600-character SMS at most).
export const TWILIO_MAX_BODY_BYTES = 128 * KiB;

// The form Twilio posted to the function `name`, verified, with NUL characters removed after the
// check (withoutNul); an unsigned request is refused before its body is read.
export async function readTwilioForm(req: Request, name: string): Promise<Record<string, string>> {
  const signature = req.headers.get("x-twilio-signature");
  if (!signature) throw new HttpError(401, "bad_signature", "missing X-Twilio-Signature");
  const signed = await readForm(req);
  const check = verifyTwilioSignature({
    authToken: env("TWILIO_AUTH_TOKEN"),
    signature,
    url: publicUrl(req, name, env("PUBLIC_FUNCTIONS_URL")),
    params: signed,
  });
  if (!check.ok) throw new HttpError(401, "bad_signature", check.reason);
  return withoutNul(signed);
}

// A Twilio webhook function: POST only, Twilio's body limit, fn gets the verified form.
export function serveTwilioWebhook(
  name: string,
  fn: (params: Record<string, string>, req: Request) => Promise<Response>,
): (req: Request) => Promise<Response> {
  return serveJson(async (req) => {
    requireMethod(req, "POST");
    return await fn(await readTwilioForm(req, name), req);
  }, { maxBodyBytes: TWILIO_MAX_BODY_BYTES });
}
