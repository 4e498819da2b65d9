// The Auth server deletes users over its own login (supabase_auth_admin, no privilege on the CRM):
// a customer and a staff user with CRM data are deleted, the deletion is audited.
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, sql, type TestUser } from "../support/index.ts";
import { TEST_PORTS } from "../support/ports.ts";

let authServer: postgres.Sql;

beforeAll(() => {
  const url = new URL(TEST_PORTS.dbUrl);
  url.username = "supabase_auth_admin";
  url.password = process.env.SUPABASE_AUTH_ADMIN_PASSWORD ?? "postgres";
  authServer = postgres(url.toString(), { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await authServer.end();
});

describe("deleting users as the Auth server", () => {
  it("the Auth server's login holds nothing of the CRM", async () => {
    await expect(authServer`select count(*) from public.users`).rejects.toMatchObject({ code: "42501" });
  });

  it("deletes a customer with a booking, consent and a note, and a staff user who wrote the note", async () => {
    const staff: TestUser = await createUser(["admin"]);
    const customer: TestUser = await createUser([]);
    await sql`insert into public.bookings (customer_id, start_date, end_date) values (${customer.id}, '2026-05-03', '2026-05-05')`;
    await sql`insert into public.customer_notes (customer_id, admin_id, note) values (${customer.id}, ${staff.id}, 'deletion test')`;
    await sql`select public.set_customer_consent(${customer.id}, 'email', true, 'admin', 'at the counter')`;

    const deleted = await authServer`delete from auth.users where id = ${customer.id} returning id`;
    expect(deleted).toHaveLength(1);
    expect(await sql`select 1 from public.users where id = ${customer.id}`).toHaveLength(0);
    expect(await sql`select 1 from public.customer_timeline_events where customer_id = ${customer.id}`).toHaveLength(0);

    expect(await authServer`delete from auth.users where id = ${staff.id} returning id`).toHaveLength(1);
    expect(await sql`select 1 from public.user_roles where user_id = ${staff.id}`).toHaveLength(0);

    const audit = await sql`select entity_id, context from public.audit_log
                             where action = 'delete' and entity = 'users' and entity_id in (${customer.id}, ${staff.id})`;
    expect(Object.fromEntries(audit.map((r) => [r.entity_id, r.context]))).toEqual({
      [customer.id]: { via: "auth.users", db_user: "supabase_auth_admin", staff_roles: [] },
      [staff.id]: { via: "auth.users", db_user: "supabase_auth_admin", staff_roles: ["admin"] },
    });
  });
});
