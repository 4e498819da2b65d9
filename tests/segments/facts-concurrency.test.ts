// Facts stay true under concurrent writers: two transactions add a booking for the same customer
// at the same time; the second waits on the facts row and recomputes from what the first
// committed, so neither booking is lost from booking_count.
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { TEST_PORTS } from "../support/ports.ts";
import { createUser, sql } from "../support/index.ts";

const a = postgres(TEST_PORTS.dbUrl, { max: 1, onnotice: () => {} });
const b = postgres(TEST_PORTS.dbUrl, { max: 1, onnotice: () => {} });
const created: string[] = [];
afterAll(async () => {
  await sql`delete from public.users where id = any(${created}::uuid[])`;
  await sql`delete from auth.users where id = any(${created}::uuid[])`;
  await a.end();
  await b.end();
});

describe("customer facts under concurrent writes", () => {
  it("two concurrent bookings for one customer are both counted", async () => {
    const customer = await createUser();
    created.push(customer.id);
    let releaseA!: () => void;
    const aMayCommit = new Promise<void>((r) => (releaseA = r));
    let aInserted!: () => void;
    const aHasInserted = new Promise<void>((r) => (aInserted = r));

    const txA = a.begin(async (tx) => {
      await tx`insert into public.bookings (customer_id, status, start_date, end_date) values (${customer.id}, 'confirmed', current_date, current_date)`;
      aInserted();
      await aMayCommit;
    });
    await aHasInserted;
    const txB = b.begin(async (tx) => {
      await tx`insert into public.bookings (customer_id, status, start_date, end_date) values (${customer.id}, 'confirmed', current_date, current_date)`;
    });
    // B is now waiting for A's lock on the facts row (on a loaded machine B may need a while to
    // connect and get there: wait for it, up to 20 s); then let A commit.
    let waiting = 0;
    for (const until = Date.now() + 20_000; waiting < 1 && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 100));
      [{ n: waiting }] = await sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like 'insert into public.bookings%'`;
    }
    if (waiting < 1) releaseA(); // do not leave A open (and afterAll hanging) when the assertion fails
    expect(waiting).toBeGreaterThanOrEqual(1);
    releaseA();
    await txA;
    await txB;
    const [facts] = await sql`select booking_count from public.customer_facts where customer_id = ${customer.id}`;
    expect(facts.booking_count).toBe(2);
  });
});
