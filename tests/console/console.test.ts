// The seed's E2E in a real browser (headless Chromium through playwright-core), through the admin
// console only: assign tags, view the timeline, create a segment, send a bulk email, verify the
// timeline entry. Plus: a consent toggle needs its second confirmation, a customer login sees no
// admin screen, an invalid rule shows the database's own message on that rule. Screenshots go to
// test-results/screenshots/.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { PROVIDER_URL, sql } from "../support/index.ts";
import { drain, recipients } from "../support/messaging.ts";
import { postSendgrid, sgEvent } from "../support/webhooks.ts";
import { CONSOLE_URL, launch, shot, signIn, startConsole, stopConsole } from "./harness.ts";

let browser: Browser;
// UI assertions wait up to 10 s (the API calls behind them share two cores with everything else)
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000, interval: 100 });
const run = Date.now().toString(36);
const tagName = `E2E spring ${run}`;
const segmentName = `E2E spring buyers ${run}`;
const campaignName = `E2E spring launch ${run}`;
let targets: { id: string; email: string; full_name: string }[] = [];

beforeAll(async () => {
  await startConsole();
  browser = await launch();
  // Two customers the list shows on its first page who can get email: consent, an address, no
  // suppression, no staff role.
  targets = await sql`
    select u.id, u.email, u.full_name
      from public.users u join public.customer_facts f on f.customer_id = u.id
     where f.consent_email and u.email is not null
       and not exists (select 1 from public.user_roles r where r.user_id = u.id)
       and not exists (select 1 from public.suppressions s where lower(s.address) = lower(u.email))
     order by u.id limit 2`;
  expect(targets).toHaveLength(2);
  const first50 = await sql`select id from public.users order by id limit 50`;
  expect(first50.map((r) => r.id)).toEqual(expect.arrayContaining(targets.map((t) => t.id)));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stopConsole();
});

async function openCustomer(page: Page, email: string): Promise<void> {
  await page.getByRole("link", { name: "Customers" }).click();
  const row = page.getByRole("table", { name: "Customers" }).getByRole("row").filter({ hasText: email });
  await row.getByRole("button").first().click();
  await poll(() => page.getByTestId("customer-drawer").isVisible()).toBe(true);
}

// Starts a step from a freshly loaded screen (the tab keeps its local sign-in).
async function fresh(page: Page, screen: string): Promise<void> {
  await page.goto(`${CONSOLE_URL}/#/${screen}`);
  await page.reload();
  await page.getByRole("navigation", { name: "Screens" }).waitFor();
}

async function closeDrawer(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Close customer" }).click();
}

describe("the seed's E2E in the browser", () => {
  let page: Page;
  afterEach(async (ctx) => {
    // a failed step leaves a picture of the page behind
    if (ctx.task.result?.state === "fail" && page) await shot(page, `failed-${ctx.task.name.replace(/\W+/g, "-").slice(0, 60)}`);
  });

  it("signs in as the seeded admin and lists customers with tags, risk, LTV and consents", async () => {
    page = await signIn(browser, "ada.admin@rental.test");
    const table = page.getByRole("table", { name: "Customers" });
    await table.getByRole("row").nth(5).waitFor();
    await poll(() => table.locator("tbody tr").count()).toBe(50);
    await poll(async () => (await table.getByRole("columnheader").allTextContents()).join("|")).toContain("Tags|Segments|Risk|LTV");
    expect(await page.getByTestId("tag-chip").count()).toBeGreaterThan(0);
    // keyset paging: the next page starts after the last id of the first
    await page.getByRole("button", { name: "Next →" }).click();
    await poll(() => page.getByText("Page 2").isVisible()).toBe(true);
    const [expected] = await sql`select email from public.users order by id offset 50 limit 1`;
    await poll(() => table.locator("tbody tr").first().locator(".small").first().textContent()).toBe(expected.email ?? "no email");
    await page.getByRole("button", { name: "← Previous" }).click();
    await poll(() => page.getByText("Page 1").isVisible()).toBe(true);
    await shot(page, "customer-list");
  });

  it("1. creates a tag with a colour and assigns it to two customers as chips", async () => {
    await page.getByRole("link", { name: "Tags" }).click();
    const form = page.getByRole("form", { name: "New tag" });
    await form.getByLabel("Name").fill(tagName);
    await form.getByLabel("Colour").fill("#0ea5e9");
    await form.getByRole("button", { name: "Create tag" }).click();
    await page.getByRole("table", { name: "Tags" }).getByTestId("tag-chip").filter({ hasText: tagName }).waitFor();
    const [tag] = await sql`select id, color from public.customer_tags where name = ${tagName}`;
    expect(tag.color).toBe("#0ea5e9");

    for (const t of targets) {
      await openCustomer(page, t.email);
      const drawer = page.getByTestId("customer-drawer");
      await drawer.getByRole("combobox", { name: "Add a tag" }).fill(tagName);
      await drawer.getByRole("listbox", { name: "Matching tags" }).getByText(tagName).click();
      await drawer.getByRole("group", { name: "Tags" }).getByTestId("tag-chip").filter({ hasText: tagName }).waitFor();
      await closeDrawer(page);
    }
    const members = await sql`select customer_id from public.customer_tag_members where tag_id = ${tag.id}`;
    expect(members.map((m) => m.customer_id).sort()).toEqual(targets.map((t) => t.id).sort());
  });

  it("2. views the timeline: grouped by day, the tag event on top, quick filters", async () => {
    await openCustomer(page, targets[0].email);
    const drawer = page.getByTestId("customer-drawer");
    const timeline = drawer.getByRole("list", { name: "Timeline" });
    await timeline.getByText(`Tag added: ${tagName}`).waitFor();
    expect(await timeline.locator("h3.day").count()).toBeGreaterThan(1);
    const before = await drawer.getByTestId("timeline-event").count();
    await drawer.getByRole("button", { name: /^tag/ }).click();
    await poll(async () => (await drawer.getByTestId("timeline-event").allTextContents()).every((t) => t.includes("Tag "))).toBe(true);
    expect(await drawer.getByTestId("timeline-event").count()).toBeLessThan(before);
    await drawer.getByRole("button", { name: "All types" }).click();
    await poll(() => drawer.getByTestId("timeline-event").count()).toBe(before);
    const download = page.waitForEvent("download");
    await drawer.getByRole("button", { name: "Export CSV" }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe(`timeline-${targets[0].id}.csv`);
    // risk override from the header: the badge shows the level the database derives, marked ✎
    await drawer.getByRole("button", { name: "Override…" }).click();
    const form = drawer.getByRole("form", { name: "Risk override" });
    await form.getByLabel("Score (0–100)").fill("85");
    await form.getByLabel("Reason").fill("Two unpaid invoices");
    await form.getByRole("button", { name: "Save override" }).click();
    const [{ level }] = await sql`select private.risk_level(85) as level`;
    await poll(() => drawer.getByRole("region", { name: "Summary" }).locator(".badge").first().textContent()).toBe(`${level} · 85 ✎`);
    await drawer.getByRole("list", { name: "Timeline" }).getByTestId("timeline-event").filter({ has: page.getByRole("img", { name: "risk" }) }).first().waitFor();
    await poll(() => form.count()).toBe(0); // the form closes once saved
    await shot(page, "customer-drawer");
    await closeDrawer(page);
  });

  it("3. creates a segment in the multi-step builder: conditions, preview with count, save with description", async () => {
    await page.getByRole("link", { name: "Segments" }).click();
    await page.getByRole("button", { name: "New segment" }).click();
    const modal = page.getByTestId("segment-modal");
    await modal.getByRole("button", { name: "+ Condition" }).first().click();
    const rule = modal.locator(".rule").first();
    await rule.locator("select.rule-fields").selectOption("tag");
    await rule.locator("select.rule-operators").selectOption("containsAny");
    const [tag] = await sql`select id from public.customer_tags where name = ${tagName}`;
    await rule.locator("select.rule-value").selectOption([tag.id]);
    await poll(() => modal.getByTestId("live-count").textContent()).toBe("2 customers match so far.");
    await modal.getByRole("button", { name: "+ Condition" }).first().click();
    const second = modal.locator(".rule").nth(1);
    await second.locator("select.rule-fields").selectOption("consent_email");
    await shot(page, "segment-builder");
    await modal.getByRole("button", { name: "Next: preview" }).click();
    await poll(() => modal.getByTestId("preview-count").textContent()).toBe("2 customers match");
    expect(await modal.getByRole("table", { name: "Preview: first customers" }).locator("tbody tr").count()).toBe(2);
    await shot(page, "segment-builder-preview");
    await modal.getByRole("button", { name: "Next: save" }).click();
    await modal.getByLabel("Name").fill(segmentName);
    await modal.getByLabel("Description").fill("Customers tagged for the spring launch who take email");
    await modal.getByRole("button", { name: "Save segment" }).click();
    await page.getByTestId("segment-row").filter({ hasText: segmentName }).waitFor();
    const [seg] = await sql`select description, definition, last_count from public.customer_segments where name = ${segmentName}`;
    expect(seg.description).toBe("Customers tagged for the spring launch who take email");
    expect(seg.last_count).toBe(2);
    expect(seg.definition).toMatchObject({ version: 1, combinator: "and", rules: [{ field: "tag", operator: "containsAny", value: [tag.id] }, { field: "consent_email", operator: "=", value: true }] });
  });

  it("4. sends a bulk email to the segment, with a preview for one customer, and shows the campaign stats", async () => {
    await page.getByRole("link", { name: "Bulk message" }).click();
    const form = page.getByRole("form", { name: "Bulk message" });
    await form.getByLabel("Campaign name").fill(campaignName);
    await form.getByLabel("Subject").fill("Spring is here, {{first_name}}");
    await form.getByLabel("Text", { exact: true }).fill("Hello {{full_name}}, our spring fleet is in.");
    const [seg] = await sql`select id from public.customer_segments where name = ${segmentName}`;
    await form.getByLabel("Segment", { exact: true }).selectOption(seg.id);
    await poll(() => form.getByTestId("audience-count").textContent()).toContain("2 customers");
    await form.getByRole("button", { name: "Preview" }).click();
    const firstName = targets[0].full_name.split(" ")[0]; // the first member by customer_id
    await poll(() => form.getByTestId("message-preview").textContent()).toContain(`Spring is here, ${firstName}`);
    await form.getByRole("button", { name: "Send campaign" }).click();
    await poll(() => page.getByTestId("send-result").textContent()).toContain("2 of 2 queued");
    const [campaign] = await sql`select id, segment_id from public.campaigns where name = ${campaignName}`;
    expect(campaign.segment_id).toBe(seg.id);

    // the dispatcher (as npm start runs it) sends to the fake SendGrid of the tests
    await drain([], 800, { SENDGRID_BASE_URL: PROVIDER_URL, SENDGRID_API_KEY: "SG.test-key", TWILIO_BASE_URL: PROVIDER_URL, EXPO_PUSH_BASE_URL: PROVIDER_URL });
    // and SendGrid reports back (signed webhooks): both delivered, the first opened and clicked two
    // minutes later (a click within seconds of delivery would count as a link scanner's, not a person's)
    const rows = await recipients(campaign.id);
    const ev = (r: (typeof rows)[number], e: string, x: Record<string, unknown> = {}) =>
      sgEvent(e, { email: r.address, recipient_id: r.id, campaign_id: campaign.id, ...x });
    const hook = await postSendgrid([ev(rows[0], "delivered"), ev(rows[1], "delivered"), ev(rows[0], "open"), ev(rows[0], "click", { url: "https://rental.test/spring", timestamp: Math.floor(Date.now() / 1000) + 120 })]);
    expect(hook.status).toBe(200);
    const stats = page.getByTestId("campaign-stats");
    await poll(() => stats.getByRole("combobox", { name: "Campaign" }).inputValue()).toBe(campaign.id);
    await poll(() => stats.getByTestId("stat-sent").textContent()).toBe("2");
    await poll(() => stats.getByTestId("stat-clicks").textContent()).toBe("1");
    expect(await stats.getByTestId("stat-audience").textContent()).toBe("2");
    expect(await stats.getByTestId("stat-delivered").textContent()).toBe("2");
    expect(await stats.getByTestId("stat-opens").textContent()).toBe("1");
    await shot(page, "campaign-stats");
  });

  it("5. verifies the timeline entry of the email on the customer", async () => {
    await fresh(page, "customers");
    await openCustomer(page, targets[0].email);
    const drawer = page.getByTestId("customer-drawer");
    await drawer.getByRole("button", { name: /^campaign/ }).click();
    await drawer.getByRole("list", { name: "Timeline" }).getByText("Campaign email sent: Spring is here, {{first_name}}").first().waitFor();
    await drawer.getByRole("tab", { name: "Communications" }).click();
    // sent, then delivered, opened and clicked by the webhooks of step 4: the latest status and every event
    const message = drawer.getByTestId("message-row").filter({ hasText: campaignName });
    await message.getByText("clicked", { exact: true }).waitFor();
    for (const e of ["delivered", "open", "click"]) expect(await message.textContent()).toContain(`${e} · `);
    await drawer.getByRole("tab", { name: "Segments" }).click();
    await drawer.getByTestId("segment-membership").filter({ hasText: segmentName }).getByText("member", { exact: true }).waitFor();
    await closeDrawer(page);
  });

  it("a consent toggle needs its second confirmation before anything changes", async () => {
    const t = targets[1];
    const consent = async () => (await sql`select enabled from public.customer_consent where customer_id = ${t.id} and channel = 'email'`)[0]?.enabled;
    expect(await consent()).toBe(true);
    await fresh(page, "customers");
    await openCustomer(page, t.email);
    const drawer = page.getByTestId("customer-drawer");
    await drawer.getByRole("tab", { name: "Communications" }).click();
    const toggle = drawer.getByRole("switch", { name: "email consent" });
    await poll(() => toggle.getAttribute("aria-checked")).toBe("true");
    await toggle.click();
    const dialog = page.getByTestId("consent-confirm");
    await dialog.getByRole("button", { name: "Continue" }).click();
    expect(await consent()).toBe(true); // one confirmation is not enough
    await dialog.getByRole("button", { name: "Keep email" }).click();
    expect(await consent()).toBe(true);
    await toggle.click();
    await dialog.getByRole("button", { name: "Continue" }).click();
    await dialog.getByRole("button", { name: "Yes, disable email" }).click();
    await poll(() => toggle.getAttribute("aria-checked")).toBe("false");
    expect(await consent()).toBe(false);
    const [h] = await sql`select source, new_enabled from public.customer_consent_history where customer_id = ${t.id} and channel = 'email' order by id desc limit 1`;
    expect(h).toMatchObject({ source: "admin", new_enabled: false });
    await closeDrawer(page);
  });

  it("an invalid rule shows the database's own message on that rule", async () => {
    await fresh(page, "segments");
    await page.getByRole("button", { name: "New segment" }).click();
    const modal = page.getByTestId("segment-modal");
    await modal.getByRole("button", { name: "+ Condition" }).first().click();
    await modal.getByRole("button", { name: "+ Condition" }).first().click();
    const good = modal.locator(".rule").nth(0);
    await good.locator(".rule-value").fill("Oslo");
    const bad = modal.locator(".rule").nth(1);
    await bad.locator("select.rule-fields").selectOption("booking_count");
    await bad.locator("select.rule-operators").selectOption("between");
    const inputs = bad.locator(".rule-value input");
    await inputs.nth(0).fill("10");
    await inputs.nth(1).fill("2");
    await modal.getByRole("button", { name: "Next: preview" }).click();
    const [{ errors }] = await sql`select public.validate_segment(${sql.json({
      version: 1, combinator: "and", not: false,
      rules: [{ field: "city", operator: "=", value: "Oslo" }, { field: "booking_count", operator: "between", value: [10, 2] }],
    })}) as errors`;
    const mine = (errors as { path: string; message: string }[]).filter((e) => e.path.startsWith("$.rules[1]"));
    expect(mine.length).toBe(1);
    await poll(() => modal.locator('[data-rule-path="1"]').getByTestId("rule-error").textContent()).toBe(mine[0].message);
    expect(await modal.locator('[data-rule-path="0"]').getByTestId("rule-error").count()).toBe(0);
    expect(await modal.getByTestId("preview-count").count()).toBe(0); // still on the conditions step
    await modal.getByRole("button", { name: "Close" }).click();
    await page.context().close();
  });
});

describe("a customer login", () => {
  it("sees none of the admin screens", async () => {
    const page = await signIn(browser, "cora.customer@rental.test");
    await page.getByTestId("not-staff").waitFor();
    expect(await page.getByTestId("not-staff").textContent()).toContain("has no admin role");
    expect(await page.getByRole("navigation", { name: "Screens" }).count()).toBe(0);
    expect(await page.getByRole("table").count()).toBe(0);
    await page.context().close();
  });
});

describe("the other screens, through the browser", () => {
  let page: Page;
  let customer: { id: string; email: string; full_name: string };

  beforeAll(async () => {
    [customer] = await sql`
      select u.id, u.email, u.full_name from public.users u
       where u.email like '%@example.test' and not exists (select 1 from public.user_roles r where r.user_id = u.id)
       order by u.id offset 3 limit 1`;
    page = await signIn(browser, "ada.admin@rental.test");
    await page.getByRole("table", { name: "Customers" }).locator("tbody tr").first().waitFor();
  });
  afterAll(async () => {
    await page?.context().close();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail" && page) await shot(page, `failed-${ctx.task.name.replace(/\W+/g, "-").slice(0, 60)}`);
  });

  it("notes: creates a shared warning note and lists it with its author", async () => {
    await fresh(page, "customers");
    await openCustomer(page, customer.email);
    const drawer = page.getByTestId("customer-drawer");
    await drawer.getByRole("tab", { name: "Notes" }).click();
    const form = drawer.getByRole("form", { name: "New note" });
    await form.getByLabel("Note").fill(`Called about the excavator ${run}`);
    await form.getByLabel("Type").selectOption("warning");
    await form.getByLabel("Visibility").selectOption("shared");
    await form.getByRole("button", { name: "Add note" }).click();
    await drawer.getByRole("list", { name: "Notes" }).getByText(`Called about the excavator ${run}`).waitFor();
    const [n] = await sql`select type, visibility, admin_id from public.customer_notes where note = ${`Called about the excavator ${run}`}`;
    expect(n).toMatchObject({ type: "warning", visibility: "shared", admin_id: "00000000-0000-4000-a000-000000000001" });
    expect(await drawer.getByRole("list", { name: "Notes" }).locator("li").first().textContent()).toContain("Ada Admin");
  });

  it("timeline: scrolling loads older pages by keyset until the end", async () => {
    await sql`insert into public.customer_notes (customer_id, note, type, visibility, created_at)
              select ${customer.id}, 'bulk note ' || i, 'info', 'internal', now() - make_interval(days => i)
                from generate_series(1, 70) i`;
    const [{ total }] = await sql`select count(*)::int as total from public.customer_timeline_events where customer_id = ${customer.id}`;
    expect(total).toBeGreaterThan(60);
    await fresh(page, "customers");
    await openCustomer(page, customer.email);
    const drawer = page.getByTestId("customer-drawer");
    const events = drawer.getByTestId("timeline-event");
    await poll(() => events.count()).toBe(30);
    for (let i = 0; i < 10 && (await events.count()) < total; i++) {
      await events.last().scrollIntoViewIfNeeded();
      await drawer.evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await page.waitForTimeout(300);
    }
    await poll(() => events.count()).toBe(total);
    const ids = await events.evaluateAll((els) => els.map((e) => e.textContent));
    expect(new Set(ids).size).toBeGreaterThan(1);
    expect(await drawer.getByRole("button", { name: "Load older events" }).count()).toBe(0);
  });

  it("consent: a customer's own opt-out shows who and when, and re-consent needs the override with a note", async () => {
    await sql`select public.set_customer_consent(${customer.id}::uuid, 'sms', false, 'self_service', 'texted STOP')`;
    await fresh(page, "customers");
    await openCustomer(page, customer.email);
    const drawer = page.getByTestId("customer-drawer");
    await drawer.getByRole("tab", { name: "Communications" }).click();
    await drawer.getByTestId("own-optout-sms").waitFor();
    expect(await drawer.getByTestId("own-optout-sms").textContent()).toContain("self_service");
    await drawer.getByRole("switch", { name: "sms consent" }).click();
    const dialog = page.getByTestId("consent-override");
    await dialog.getByRole("button", { name: "Override the opt-out" }).click(); // the note is required: nothing is sent
    expect((await sql`select enabled from public.customer_consent where customer_id = ${customer.id} and channel = 'sms'`)[0].enabled).toBe(false);
    await dialog.getByLabel("Note (required)").fill("Customer asked on the phone to get SMS again");
    await dialog.getByRole("button", { name: "Override the opt-out" }).click();
    await poll(() => drawer.getByRole("switch", { name: "sms consent" }).getAttribute("aria-checked")).toBe("true");
    const [h] = await sql`select new_enabled, note from public.customer_consent_history where customer_id = ${customer.id} and channel = 'sms' order by id desc limit 1`;
    expect(h).toMatchObject({ new_enabled: true, note: "Customer asked on the phone to get SMS again" });
  });

  it("alerts: lists an open alert and acknowledges it", async () => {
    const [a] = await sql`insert into public.alerts (kind, severity, title, body, customer_id)
                          values ('risk_high', 'critical', ${`Risk jumped ${run}`}, 'score 91', ${customer.id}) returning id`;
    await fresh(page, "alerts");
    const row = page.getByTestId("alert-row").filter({ hasText: `Risk jumped ${run}` });
    await row.getByRole("button", { name: /Acknowledge/ }).click();
    await poll(async () => (await sql`select acknowledged_at from public.alerts where id = ${a.id}`)[0].acknowledged_at !== null).toBe(true);
    await poll(() => row.count()).toBe(0); // open alerts only
  });

  it("an admin without the communications role is not offered bulk messages", async () => {
    const alan = await signIn(browser, "alan.admin@rental.test");
    const nav = alan.getByRole("navigation", { name: "Screens" });
    await nav.getByRole("link", { name: "Customers" }).waitFor();
    expect(await nav.getByRole("link", { name: "Bulk message" }).count()).toBe(0);
    await alan.context().close();
  });
});
