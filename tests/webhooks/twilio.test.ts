import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { callFunction, fakeProvider, sql } from "../support/index.ts";
import { clearMessagingState, communicator, customerWith, drain, recipients } from "../support/messaging.ts";
import { postTwilio, postTwilioStatusApplied, twilioSign } from "../support/webhooks.ts";
import { urlVariants, verifyTwilioSignature } from "../../supabase/functions/_shared/providers/webhooks.ts";

afterAll(async () => {
  await sql.end();
});
beforeEach(async () => {
  await clearMessagingState();
  await fakeProvider.reset();
});

async function smsConsent(customerId: string) {
  const [row] = await sql`select enabled, source, note from public.customer_consent where customer_id = ${customerId} and channel = 'sms'`;
  return row;
}

describe("Twilio signatures", () => {
  const token = "12345";
  const params = { MessageSid: "SM1", MessageStatus: "delivered", To: "+4791234567" };
  it("accepts a signature over the URL with or without the default port", () => {
    for (const [configured, signed] of [
      ["https://crm.example.com/functions/v1/twilio-status", "https://crm.example.com:443/functions/v1/twilio-status"],
      ["https://crm.example.com:443/functions/v1/twilio-status", "https://crm.example.com/functions/v1/twilio-status"],
      ["http://crm.example.com/functions/v1/twilio-status?x=1", "http://crm.example.com:80/functions/v1/twilio-status?x=1"],
      ["https://crm.example.com/functions/v1/twilio-status", "https://crm.example.com/functions/v1/twilio-status"],
    ]) {
      expect(verifyTwilioSignature({ authToken: token, signature: twilioSign(signed, params, token), url: configured, params }).ok).toBe(true);
    }
  });
  it("refuses another port, another token, changed params", () => {
    const url = "https://crm.example.com/functions/v1/twilio-status";
    expect(verifyTwilioSignature({ authToken: token, signature: twilioSign("https://crm.example.com:8443/functions/v1/twilio-status", params, token), url, params }).ok).toBe(false);
    expect(verifyTwilioSignature({ authToken: token, signature: twilioSign(url, params, "other"), url, params }).ok).toBe(false);
    expect(verifyTwilioSignature({ authToken: token, signature: twilioSign(url, params, token), url, params: { ...params, MessageStatus: "failed" } }).ok).toBe(false);
    expect(urlVariants(url)).toContain("https://crm.example.com:443/functions/v1/twilio-status");
  });

  it("twilio-status answers 401 to a forged or missing signature", async () => {
    expect((await postTwilio("twilio-status", params, { signature: "forged" })).status).toBe(401);
    const res = await fetch(`${process.env.PUBLIC_FUNCTIONS_URL}/twilio-status`, { method: "POST", body: new URLSearchParams(params) });
    expect(res.status).toBe(401);
  });
});

describe("twilio-status", () => {
  it("moves the recipient up by rank and revokes SMS consent on 21610", async () => {
    const comms = await communicator();
    const a = await customerWith({ consent: { sms: true } });
    const b = await customerWith({ consent: { sms: true } });
    const { campaign_id } = await (await callFunction("bulk-message", {
      jwt: comms.jwt, body: { name: "sms status", channel: "sms", content: { text: "hi" }, audience: { customer_ids: [a.id, b.id] } },
    })).json();
    await drain([], 800);
    const rows = await sql`select id, customer_id, provider_message_id from public.campaign_recipients where campaign_id = ${campaign_id}`;
    const ra = rows.find((r) => r.customer_id === a.id)!;
    const rb = rows.find((r) => r.customer_id === b.id)!;
    await postTwilioStatusApplied({ MessageSid: ra.provider_message_id, MessageStatus: "delivered", To: a.phone! });
    await postTwilioStatusApplied({ MessageSid: ra.provider_message_id, MessageStatus: "sent", To: a.phone! });
    await postTwilioStatusApplied({ MessageSid: rb.provider_message_id, MessageStatus: "failed", ErrorCode: "21610", To: b.phone! });
    const fate = Object.fromEntries((await recipients(campaign_id)).map((r) => [r.customer_id, r]));
    expect(fate[a.id].status).toBe("delivered");
    expect(fate[b.id].status).toBe("failed");
    expect(fate[b.id].last_error).toContain("21610");
    expect(await smsConsent(b.id)).toMatchObject({ enabled: false, source: "twilio_status" });
    expect(await smsConsent(a.id)).toMatchObject({ enabled: true });
    const [log] = await sql`select status from public.sms_logs where recipient_id = ${ra.id}`;
    expect(log.status).toBe("delivered");
  });
});

describe("twilio-inbound", () => {
  it("STOP revokes, START grants again, HELP changes nothing; each answers empty TwiML", async () => {
    const c = await customerWith({ consent: { sms: true } });
    const send = async (body: string) => {
      const res = await postTwilio("twilio-inbound", { MessageSid: `SM${crypto.randomUUID().replace(/-/g, "")}`, From: c.phone!, To: "+15005550006", Body: body });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/xml");
      expect(await res.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
    };
    await send("stop");
    expect(await smsConsent(c.id)).toMatchObject({ enabled: false, source: "twilio_inbound", note: "SMS reply STOP" });
    await send("HELP");
    expect(await smsConsent(c.id)).toMatchObject({ enabled: false });
    await send("  Start ");
    expect(await smsConsent(c.id)).toMatchObject({ enabled: true, source: "twilio_inbound" });
    for (const word of ["STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]) {
      await send("UNSTOP");
      await send(word);
      expect((await smsConsent(c.id)).enabled).toBe(false);
    }
    await send("YES");
    expect((await smsConsent(c.id)).enabled).toBe(true);
  });

  it("a retried inbound message is processed once", async () => {
    const c = await customerWith({ consent: { sms: true } });
    const params = { MessageSid: `SM${crypto.randomUUID().replace(/-/g, "")}`, From: c.phone!, Body: "STOP" };
    await postTwilio("twilio-inbound", params);
    await sql`select public.set_customer_consent(${c.id}, 'sms', true, 'self_service')`;
    await postTwilio("twilio-inbound", params);
    expect((await smsConsent(c.id)).enabled).toBe(true);
  });

  it("refuses a forged signature and changes nothing", async () => {
    const c = await customerWith({ consent: { sms: true } });
    const res = await postTwilio("twilio-inbound", { MessageSid: "SMx", From: c.phone!, Body: "STOP" }, { signature: "AAAA" });
    expect(res.status).toBe(401);
    expect((await smsConsent(c.id)).enabled).toBe(true);
  });
});
