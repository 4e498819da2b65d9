// Quiet hours in the recipient's local time, end to end: customers in eight zones on both sides of
// the date line, SMS default quiet hours (21:00-08:00) on, real dispatcher processes; the fake
// provider's recorded requests show that nothing left outside a recipient's allowed hours.
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { callFunction, fakeProvider, sql } from "../support/index.ts";
import { clearMessagingState, communicator, customerWith, drain, exited, receivedRecipientIds, recipients, startDispatcher } from "../support/messaging.ts";

afterAll(async () => {
  await sql.end();
});
beforeEach(async () => {
  await clearMessagingState();
  await sql`delete from public.messaging_settings where key = 'quiet_hours'`; // the default: SMS 21:00-08:00
  await fakeProvider.reset();
});

const ZONES = ["Pacific/Kiritimati", "Pacific/Auckland", "Asia/Tokyo", "Europe/Oslo", "America/New_York", "America/Los_Angeles",
  "Pacific/Honolulu", "Pacific/Pago_Pago"];

function localHourMinute(zone: string, at: number): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(at);
}
const allowedAt = (zone: string, at: number) => {
  const hm = localHourMinute(zone, at);
  return hm >= "08:00" && hm < "21:00";
};

async function smsCampaign(ids: string[], extra: Record<string, unknown> = {}) {
  const comms = await communicator();
  const res = await callFunction("bulk-message", {
    jwt: comms.jwt, body: { name: "zones", channel: "sms", content: { text: "Hi {{first_name}}" }, audience: { customer_ids: ids }, ...extra },
  });
  return res;
}

describe("quiet hours across zones", () => {
  it("SMS leaves only where it is 08:00-21:00 locally; the rest waits for 08:00 in its own zone", async () => {
    const customers = [];
    for (const zone of ZONES) {
      const c = await customerWith({ consent: { sms: true } });
      await sql`update public.users set time_zone = ${zone} where id = ${c.id}`;
      customers.push({ ...c, zone });
    }
    const res = await smsCampaign(customers.map((c) => c.id));
    expect(res.status).toBe(202);
    const { campaign_id } = await res.json();
    await drain([], 1500);
    const reqs = (await fakeProvider.requests()).filter((r) => r.method === "POST" && r.path.endsWith("/Messages.json"));
    const rows = await sql`select r.id, r.customer_id, r.status, r.next_attempt_at, u.time_zone
                             from public.campaign_recipients r join public.users u on u.id = r.customer_id where r.campaign_id = ${campaign_id}`;
    const byRecipient = new Map(rows.map((r) => [r.id, r]));
    for (const req of reqs) {
      const rid = receivedRecipientIds([req])[0];
      expect(allowedAt(byRecipient.get(rid)!.time_zone, req.at)).toBe(true);
    }
    const now = Date.now();
    for (const r of rows) {
      if (allowedAt(r.time_zone, now - 5000) && allowedAt(r.time_zone, now)) expect(r.status).toBe("sent");
      if (!allowedAt(r.time_zone, now - 5000) && !allowedAt(r.time_zone, now)) {
        expect(r.status).toBe("queued");
        expect(localHourMinute(r.time_zone, r.next_attempt_at.getTime())).toBe("08:00");
        expect(r.next_attempt_at.getTime() - now).toBeLessThan(11 * 3600_000);
      }
    }
    // with eight zones spread over 25 hours, both kinds are present at any hour
    expect(rows.some((r) => r.status === "sent")).toBe(true);
    expect(rows.some((r) => r.status === "queued")).toBe(true);
  });

  it("the throttle holds with quiet hours on and recipients in several zones", async () => {
    const now = Date.now();
    const open = ZONES.filter((z) => allowedAt(z, now) && allowedAt(z, now + 60_000));
    const closed = ZONES.filter((z) => !allowedAt(z, now) && !allowedAt(z, now + 60_000));
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const c = await customerWith({ consent: { sms: true } });
      await sql`update public.users set time_zone = ${open[i % open.length]} where id = ${c.id}`;
      ids.push(c.id);
    }
    for (let i = 0; i < 10; i++) {
      const c = await customerWith({ consent: { sms: true } });
      await sql`update public.users set time_zone = ${closed[i % closed.length]} where id = ${c.id}`;
      ids.push(c.id);
    }
    const res = await smsCampaign(ids, { throttle_per_minute: 600 });
    expect(res.status).toBe(202);
    await Promise.all([0, 1].map(() => exited(startDispatcher(["--max-idle-ms", "1500", "--idle-sleep-ms", "50"]))));
    const times = (await fakeProvider.requests()).filter((r) => r.method === "POST" && r.path.endsWith("/Messages.json"))
      .map((r) => r.at).sort((x, y) => x - y);
    expect(times).toHaveLength(40);
    for (let i = 0; i < times.length; i++) {
      for (let j = i; j < times.length; j++) {
        expect(j - i + 1).toBeLessThanOrEqual(Math.floor(3 + (10 * (times[j] - times[i])) / 1000) + 1);
      }
    }
  });

  it("refuses bad windows and times with 400 naming the field; accepts a window and a local send time", async () => {
    const c = await customerWith({ consent: { sms: true } });
    const name = `bad window ${c.id}`;
    const bad = async (extra: Record<string, unknown>, message: RegExp) => {
      const res = await smsCampaign([c.id], { name, ...extra });
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toMatch(message);
    };
    await bad({ send_window: { start: "10:00", end: "10:00" } }, /send_window: start and end are both 10:00/);
    await bad({ send_window: { start: "09:00", end: "25:00" } }, /send_window.end: .*at most 24 hours/);
    await bad({ send_window: { start: "9am", end: "17:00" } }, /send_window.start/);
    await bad({ send_window: { start: "22:00", end: "23:30" } }, /inside the sms quiet hours/);
    await bad({ local_send_time: "25:00" }, /local_send_time/);
    await bad({ quiet_hours_override: { reason: "" } }, /quiet_hours_override/);
    expect((await sql`select count(*)::int as n from public.campaigns where name = ${name}`)[0].n).toBe(0);
    const ok = await smsCampaign([c.id], { send_window: { start: "09:00", end: "20:00" }, local_send_time: "10:00" });
    expect(ok.status).toBe(202);
    const { campaign_id } = await ok.json();
    const [camp] = await sql`select send_window_start, send_window_end, local_send_time from public.campaigns where id = ${campaign_id}`;
    expect(camp).toMatchObject({ send_window_start: "09:00:00", send_window_end: "20:00:00", local_send_time: "10:00:00" });
    const [r] = await recipients(campaign_id);
    expect(r.status).toBe("queued");
  });

  it("a customer's time zone that does not exist is refused with 22023", async () => {
    const c = await customerWith({});
    await expect(sql`update public.users set time_zone = 'Europe/Atlantis' where id = ${c.id}`)
      .rejects.toMatchObject({ code: "22023", message: expect.stringMatching(/not an IANA time zone/) });
  });
});
