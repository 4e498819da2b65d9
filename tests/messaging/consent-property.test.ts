// Property: whatever the consent and suppression states at queue time, and whatever changes
// between queueing and sending, nothing reaches the provider for a customer who has no consent,
// is suppressed or has no address at the moment of sending; everyone else gets exactly one.
import fc from "fast-check";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { callFunction, fakeProvider, sql } from "../support/index.ts";
import { clearMessagingState, communicator, exited, receivedRecipientIds, startDispatcher } from "../support/messaging.ts";

afterAll(async () => {
  await sql.end();
});
beforeEach(async () => {
  await clearMessagingState();
});

const consentState = fc.constantFrom<"none" | "granted" | "revoked">("none", "granted", "revoked");
const member = fc.record({
  atQueue: consentState,
  suppressedAtQueue: fc.boolean(),
  hasEmail: fc.boolean(),
  // what happens between queueing and sending
  change: fc.constantFrom<"nothing" | "revoke" | "grant" | "suppress" | "unsuppress">("nothing", "revoke", "grant", "suppress", "unsuppress"),
});

describe("consent at send time, for any states", () => {
  it("never sends without consent at send time, and sends once to everyone eligible", async () => {
    const comms = await communicator();
    await fc.assert(
      fc.asyncProperty(fc.array(member, { minLength: 1, maxLength: 12 }), async (members) => {
        await clearMessagingState();
        await fakeProvider.reset();
        const ids: string[] = [];
        for (const m of members) {
          const id = crypto.randomUUID();
          const email = m.hasEmail ? `prop-${id}@example.test` : null;
          await sql`insert into auth.users (id, email) values (${id}, ${email})`;
          await sql`insert into public.users (id, email, full_name) values (${id}, ${email}, 'Prop Customer')`;
          if (m.atQueue !== "none") await sql`select public.set_customer_consent(${id}, 'email', ${m.atQueue === "granted"}, 'signup')`;
          if (m.suppressedAtQueue && email) await sql`insert into public.suppressions (channel, address, reason, source) values ('email', ${email}, 'bounce', 'prop')`;
          ids.push(id);
        }
        const res = await callFunction("bulk-message", {
          jwt: comms.jwt,
          body: { name: "property", channel: "email", content: { subject: "s", text: "t" }, audience: { customer_ids: ids } },
        });
        expect(res.status).toBe(202);
        const { campaign_id } = await res.json();

        const eligible = new Set<string>();
        for (const [i, m] of members.entries()) {
          const id = ids[i];
          const email = m.hasEmail ? `prop-${id}@example.test` : null;
          if (m.change === "revoke") await sql`select public.set_customer_consent(${id}, 'email', false, 'self_service')`;
          if (m.change === "grant") await sql`select public.set_customer_consent(${id}, 'email', true, 'self_service')`;
          if (m.change === "suppress" && email) {
            await sql`insert into public.suppressions (channel, address, reason, source) values ('email', ${email}, 'spamreport', 'prop') on conflict do nothing`;
          }
          if (m.change === "unsuppress" && email) await sql`delete from public.suppressions where address_key = lower(${email})`;
          const consentAtSend = m.change === "revoke" ? false : m.change === "grant" ? true : m.atQueue === "granted";
          const suppressedAtSend = m.change === "suppress" ? true : m.change === "unsuppress" ? false : m.suppressedAtQueue;
          const queued = m.atQueue === "granted" && !m.suppressedAtQueue && m.hasEmail;
          // a member skipped at queue time stays skipped; a queued one goes only if still allowed
          if (queued && consentAtSend && !(suppressedAtSend && m.hasEmail)) eligible.add(id);
        }

        await exited(startDispatcher(["--once"]));
        const rows = await sql<Array<{ id: string; customer_id: string; status: string }>>`
          select id, customer_id, status from public.campaign_recipients where campaign_id = ${campaign_id}`;
        const byRecipient = new Map(rows.map((r) => [r.id, r.customer_id]));
        const received = receivedRecipientIds(await fakeProvider.requests()).map((r) => byRecipient.get(r));
        expect(new Set(received)).toEqual(eligible);
        expect(received.length).toBe(eligible.size);
        for (const r of rows) {
          if (!eligible.has(r.customer_id)) expect(r.status).toMatch(/^skipped_/);
        }
      }),
      { numRuns: 15, seed: Number(process.env.FC_SEED ?? 20261124), endOnFailure: true },
    );
  });
});
