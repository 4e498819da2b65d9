// Runs after every other test file (tests/support/sequencer.ts): over everything the messaging,
// webhook, double opt-in and e2e tests sent, check_consent_proofs() finds no message that left
// without a valid proof of consent.
import { afterAll, describe, expect, it } from "vitest";
import { createUser, sql } from "../support/index.ts";

afterAll(async () => {
  await sql.end();
});

describe("the consent proof ledger", () => {
  it("after real sends and the messaging tests, no message left without a valid proof", async () => {
    const admin = await createUser(["admin"]);
    const exceptions = await sql.begin(async (tx) => {
      await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${JSON.stringify({ sub: admin.id, role: "authenticated" })}, true)`;
      return await tx`select * from public.check_consent_proofs()`;
    });
    expect(exceptions).toEqual([]);
    const [{ n }] = await sql`select count(*)::int as n from public.campaign_recipients where sent_at is not null`;
    expect(n).toBeGreaterThan(0);
  });
});
