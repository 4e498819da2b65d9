// The seed spec's end-to-end scenario, automated (issues 5 and 6): assign tags, create a segment
// over them, send a bulk email, the provider receives it, the timeline shows it; then the
// delivered/open/click webhooks, the timeline and campaign_stats show those, and an unsubscribe
// revokes consent so the next send skips that customer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callFunction, fakeProvider, sql } from "../support/index.ts";
import { clearMessagingState, communicator, customerWith, drain, recipients } from "../support/messaging.ts";
import { postSendgridApplied, sgEvent } from "../support/webhooks.ts";
import type { TestUser } from "../support/index.ts";

afterAll(async () => {
  await sql.end();
});

// Runs SQL as PostgREST would for this user.
async function as<T>(user: TestUser, fn: (tx: any) => Promise<T>): Promise<T> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: user.id, role: "authenticated" })}, true)`;
    return await fn(tx);
  }) as T;
}

async function timeline(admin: TestUser, customerId: string) {
  return await as(admin, async (tx) => {
    const [{ t }] = await tx`select public.customer_timeline(${customerId}::uuid, array['campaign'], null, null, 50, null) as t`;
    return t as { events: Array<{ title: string; event_type: string; metadata: any }>; counts: Record<string, number> };
  });
}

describe("seed scenario: tags → segment → bulk email → provider → timeline → webhooks → stats → unsubscribe", () => {
  let comms: TestUser;
  let ada: Awaited<ReturnType<typeof customerWith>>, bo: Awaited<ReturnType<typeof customerWith>>, cy: Awaited<ReturnType<typeof customerWith>>;
  let tagId: string, segmentId: string, campaignId: string;

  beforeAll(async () => {
    await clearMessagingState();
    await fakeProvider.reset();
    comms = await communicator();
    ada = await customerWith({ consent: { email: true }, name: "Ada Lund", city: "Tromsø" });
    bo = await customerWith({ consent: { email: true }, name: "Bo Berg", city: "Bergen" });
    cy = await customerWith({ consent: { email: false }, name: "Cy Dahl", city: "Oslo" });
  });

  it("1. an admin tags three customers", async () => {
    tagId = await as(comms, async (tx) => {
      const [tag] = await tx`insert into public.customer_tags (name, color) values (${"Spring 2027 " + crypto.randomUUID().slice(0, 8)}, '#22C55E') returning id`;
      for (const c of [ada, bo, cy]) await tx`insert into public.customer_tag_members (customer_id, tag_id) values (${c.id}, ${tag.id})`;
      return tag.id;
    });
    const events = await sql`select count(*)::int as n from public.customer_timeline_events where event_type = 'tag' and reference_id = ${tagId}`;
    expect(events[0].n).toBe(3);
  });

  it("2. creates a segment over the tag", async () => {
    const definition = { version: 1, combinator: "and", not: false, rules: [{ field: "tag", operator: "containsAny", value: [tagId] }] };
    segmentId = await as(comms, async (tx) => {
      const [s] = await tx`insert into public.customer_segments (name, description, definition)
                           values (${"Spring customers " + tagId.slice(0, 8)}, 'tagged for spring', ${tx.json(definition)}) returning id`;
      const [{ r }] = await tx`select public.evaluate_segment(${tx.json(definition)}) as r`;
      expect(r.total).toBe(3);
      return s.id;
    });
  });

  it("3–5. sends a bulk email to it; the provider receives it; the timeline shows it", async () => {
    const res = await callFunction("bulk-message", {
      jwt: comms.jwt,
      body: { name: "Spring launch", channel: "email", content: { subject: "Spring is here, {{first_name}}", text: "Hello {{full_name}}", html: "<p>Hello {{full_name}}</p>" },
              audience: { segment_id: segmentId } },
    });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({ audience_count: 3, queued: 2, skipped: { no_consent: 1, suppressed: 0, no_address: 0 } });
    campaignId = body.campaign_id;
    const [campaign] = await sql`select segment_id from public.campaigns where id = ${campaignId}`;
    expect(campaign.segment_id).toBe(segmentId);
    const [usage] = await sql`select * from public.segment_manager where id = ${segmentId}`;
    expect(JSON.stringify(usage)).toContain(campaignId);

    await drain([], 800);
    const sends = (await fakeProvider.requests()).filter((r) => r.path === "/v3/mail/send");
    expect(sends).toHaveLength(1);
    const to = sends[0].body.personalizations.map((p: any) => p.to[0].email).sort();
    expect(to).toEqual([ada.email, bo.email].sort());
    expect(sends[0].body.personalizations.find((p: any) => p.to[0].email === ada.email).substitutions["{{first_name}}"]).toBe("Ada");

    const t = await timeline(comms, ada.id);
    expect(t.events.map((e) => e.title)).toContain("Campaign email sent: Spring is here, {{first_name}}");
    expect((await timeline(comms, cy.id)).events).toHaveLength(0);
  });

  it("6–8. delivered, open and click webhooks reach the timeline and campaign_stats", async () => {
    const rows = await recipients(campaignId);
    const ra = rows.find((r) => r.customer_id === ada.id)!;
    const rb = rows.find((r) => r.customer_id === bo.id)!;
    const ev = (r: typeof ra, e: string, x: Record<string, unknown> = {}) => sgEvent(e, { email: r.address, recipient_id: r.id, campaign_id: campaignId, ...x });
    await postSendgridApplied([
      ev(ra, "delivered"), ev(ra, "open"), ev(ra, "click", { url: "https://rental.test/spring", timestamp: Math.floor(Date.now() / 1000) + 120 }), ev(ra, "open"),
      ev(rb, "delivered"),
    ]);
    const titles = (await timeline(comms, ada.id)).events.map((e) => e.title);
    expect(titles.filter((x) => x === "Campaign email delivered: Spring is here, {{first_name}}")).toHaveLength(1);
    expect(titles.filter((x) => x === "Campaign email opened: Spring is here, {{first_name}}")).toHaveLength(1);
    expect(titles.filter((x) => x === "Campaign email clicked: Spring is here, {{first_name}}")).toHaveLength(1);

    const [stats] = await sql`select audience, queued, sent, delivered, unique_opens, unique_clicks, skipped from public.campaign_stats where campaign_id = ${campaignId}`;
    expect(stats).toMatchObject({ audience: 3, queued: 0, sent: 2, delivered: 2, unique_opens: 1, unique_clicks: 1, skipped: { no_consent: 1 } });

    // engagement facts follow the events, so segments can use them
    const [facts] = await sql`select last_engaged_at, engaged_campaigns_90d from public.customer_facts where customer_id = ${ada.id}`;
    expect(facts.engaged_campaigns_90d).toBe(1);
    expect(facts.last_engaged_at).not.toBeNull();
    const engaged = await as(comms, async (tx) => {
      const [{ r }] = await tx`select public.evaluate_segment(${tx.json({ version: 1, combinator: "and", rules: [
        { field: "tag", operator: "containsAny", value: [tagId] }, { field: "engaged_campaigns_90d", operator: ">=", value: 1 }] })}) as r`;
      return r.members.map((m: any) => m.customer_id);
    });
    expect(engaged).toEqual([ada.id]);
  });

  it("9. an unsubscribe by webhook revokes consent and the next send skips that customer", async () => {
    const rb = (await recipients(campaignId)).find((r) => r.customer_id === bo.id)!;
    await postSendgridApplied([sgEvent("unsubscribe", { email: rb.address, recipient_id: rb.id, campaign_id: campaignId })]);
    const [consent] = await sql`select enabled, source from public.customer_consent where customer_id = ${bo.id} and channel = 'email'`;
    expect(consent).toMatchObject({ enabled: false, source: "sendgrid" });
    const titles = (await as(comms, async (tx) => {
      const [{ t }] = await tx`select public.customer_timeline(${bo.id}::uuid, array['consent'], null, null, 50, null) as t`;
      return t.events.map((e: any) => e.title);
    }));
    expect(titles).toContain("Email consent revoked (sendgrid)");
    const res = await callFunction("bulk-message", {
      jwt: comms.jwt,
      body: { name: "Spring follow-up", channel: "email", content: { subject: "More spring", text: "hi" }, audience: { segment_id: segmentId } },
    });
    const body = await res.json();
    expect(body).toMatchObject({ audience_count: 3, queued: 1, skipped: { no_consent: 2 } });
    const fate = Object.fromEntries((await recipients(body.campaign_id)).map((r) => [r.customer_id, r.status]));
    expect(fate[bo.id]).toBe("skipped_no_consent");
    expect(fate[ada.id]).toBe("queued");
  });

  it("10. after all of it the timeline has not drifted from its sources", async () => {
    const drift = await sql`select event_type, missing::int, extra::int from private.timeline_drift() where missing > 0 or extra > 0`;
    expect(drift).toEqual([]);
  });
});
