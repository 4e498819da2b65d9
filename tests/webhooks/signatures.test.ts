// Our signature checks against the vendors' own verifiers as the oracle: SendGrid's
// @sendgrid/eventwebhook (pure JavaScript, 10-25x slower than node:crypto, so the function does not
// run it; see docs/webhooks.md) and Twilio's twilio.validateRequest. Both are dev dependencies.
import { generateKeyPairSync, sign } from "node:crypto";
import { EventWebhook } from "@sendgrid/eventwebhook";
import fc from "fast-check";
import twilio from "twilio";
import { describe, expect, it } from "vitest";
import { verifySendgridSignature, verifyTwilioSignature } from "../../supabase/functions/_shared/providers/webhooks.ts";

const vendor = new EventWebhook();
const keys = Array.from({ length: 3 }, () => generateKeyPairSync("ec", { namedCurve: "prime256v1" }));
const der = (i: number) => keys[i].publicKey.export({ format: "der", type: "spki" }).toString("base64");
const vendorKey = (i: number) => vendor.convertPublicKeyToECDSA(`-----BEGIN PUBLIC KEY-----\n${der(i)}\n-----END PUBLIC KEY-----`);

function both(keyIndex: number, body: string, signature: string, timestamp: string) {
  const ours = verifySendgridSignature({
    publicKey: der(keyIndex), signature, timestamp, rawBody: new TextEncoder().encode(body), toleranceSeconds: 600,
    now: Number(timestamp) * 1000,
  }).ok;
  const theirs = vendor.verifySignature(vendorKey(keyIndex), body, signature, timestamp);
  return { ours, theirs };
}

describe("SendGrid signature: ours agrees with @sendgrid/eventwebhook", () => {
  it("on signed, tampered and wrongly keyed batches", () => {
    fc.assert(fc.property(
      fc.oneof(fc.json(), fc.string({ unit: "grapheme", maxLength: 300 })),
      fc.integer({ min: 1_500_000_000, max: 2_000_000_000 }),
      fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }),
      (body, ts, signer, verifier) => {
        const timestamp = String(ts);
        const signature = sign("sha256", Buffer.from(timestamp + body), keys[signer].privateKey).toString("base64");
        const good = both(verifier, body, signature, timestamp);
        expect(good.ours).toBe(good.theirs);
        expect(good.ours).toBe(signer === verifier);
        const tampered = both(signer, body + " ", signature, timestamp);
        expect(tampered).toEqual({ ours: false, theirs: false });
        const otherTime = both(signer, body, signature, String(ts + 1));
        expect(otherTime).toEqual({ ours: false, theirs: false });
      }), { numRuns: 60 });
  });
});

describe("Twilio signature: ours agrees with twilio.validateRequest", () => {
  const bases = ["https://crm.example.com/functions/v1/twilio-status", "https://crm.example.com:443/functions/v1/twilio-inbound",
                 "http://127.0.0.1:54321/functions/v1/twilio-status?r=0190f0d2-aaaa-7bbb-8ccc-0123456789ab"];
  it("on signed and altered requests, with and without the default port", () => {
    fc.assert(fc.property(
      fc.constantFrom(...bases), fc.string({ minLength: 8, maxLength: 32 }),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== "__proto__"), fc.string({ maxLength: 40 }), { maxKeys: 6 }),
      fc.boolean(), (url, token, params, portVariant) => {
        const signedUrl = portVariant
          ? url.replace("https://crm.example.com/", "https://crm.example.com:443/").replace("https://crm.example.com:443/functions/v1/twilio-inbound", "https://crm.example.com/functions/v1/twilio-inbound")
          : url;
        const signature = twilio.getExpectedTwilioSignature(token, signedUrl, params);
        const ours = verifyTwilioSignature({ authToken: token, signature, url, params }).ok;
        expect(ours).toBe(twilio.validateRequest(token, signature, url, params));
        expect(ours).toBe(true);
        const altered = { ...params, Body: `${params.Body ?? ""}x` };
        expect(verifyTwilioSignature({ authToken: token, signature, url, params: altered }).ok)
          .toBe(twilio.validateRequest(token, signature, url, altered));
        expect(verifyTwilioSignature({ authToken: `${token}!`, signature, url, params }).ok).toBe(false);
        expect(twilio.validateRequest(`${token}!`, signature, url, params)).toBe(false);
      }), { numRuns: 100 });
  });
});
