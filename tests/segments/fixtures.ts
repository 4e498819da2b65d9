// A small, varied world of customers for the segment property tests, marked by one tag so a
// definition can be restricted to it while the database holds other customers too.
import { randomUUID } from "node:crypto";
import { sql } from "../support/index.ts";

export interface World {
  marker: string;
  tags: string[];
  customerIds: string[];
  cities: string[];
}

// Deterministic pseudo-random numbers (mulberry32), so a failing world can be rebuilt.
function rng(seed: number): () => number {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const CITIES = ["Oslo", "OSLO", "Bergen", "Tromsø", "50%_off", "a_b\\c", "O'Brien; --", null];
export const REGIONS = ["Vestland", "Troms", "Øst", null];
export const CATEGORIES = ["lifts", "excavators", "generators"];

export async function createWorld(size = 40, seed = 7): Promise<World> {
  const r = rng(seed);
  const pick = <T,>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const run = randomUUID().slice(0, 8);
  const marker = randomUUID();
  const tags = [randomUUID(), randomUUID(), randomUUID()];
  const customerIds: string[] = [];
  await sql.begin(async (tx) => {
    await tx`insert into public.customer_tags (id, name) values (${marker}, ${"proptest marker " + run})`;
    for (const [i, t] of tags.entries()) await tx`insert into public.customer_tags (id, name) values (${t}, ${`proptest ${run} ${i}`})`;
    const equipment = await tx`select e.id, c.slug from public.equipment e join public.equipment_categories c on c.id = e.category_id
                                where c.slug = any(${CATEGORIES})`;
    for (let i = 0; i < size; i++) {
      const id = randomUUID();
      customerIds.push(id);
      const createdAt = pick(["2025-03-09T23:59:59.999Z", "2025-03-10T00:00:00Z", "2025-03-10T23:59:59Z", "2025-03-11T12:00:00Z", "2024-01-01T06:00:00Z"]);
      await tx`insert into auth.users (id, email) values (${id}, ${`prop-${run}-${i}@segtest.test`})`;
      await tx`insert into public.users (id, email, full_name, city, region, country_code, risk_score, lifetime_value, created_at)
               values (${id}, ${`prop-${run}-${i}@segtest.test`}, ${`Prop ${i}`}, ${pick(CITIES)}, ${pick(REGIONS)}, ${pick(["NO", "SE", null])},
                       ${pick([null, 0, 10, 50.5, 99.99])}, ${pick([null, 0, 1000, 2500.5])}, ${createdAt})`;
      await tx`insert into public.customer_tag_members (customer_id, tag_id) values (${id}, ${marker})`;
      for (const t of tags) if (r() < 0.4) await tx`insert into public.customer_tag_members (customer_id, tag_id) values (${id}, ${t})`;
      const bookings = Math.floor(r() * 4);
      for (let b = 0; b < bookings; b++) {
        const days = pick([1, 30, 100, 400]);
        const status = pick(["completed", "completed", "active", "cancelled"]);
        const [bk] = await tx`insert into public.bookings (customer_id, status, start_date, end_date, total_amount, created_at)
                              values (${id}, ${status}, current_date, current_date, 100,
                                      now() - make_interval(days => ${days}, hours => 6)) returning id`;
        const e = pick(equipment);
        await tx`insert into public.booking_items (booking_id, equipment_id) values (${bk.id}, ${e.id})`;
        if (r() < 0.7) await tx`insert into public.payments (customer_id, booking_id, amount, status)
                                 values (${id}, ${bk.id}, ${pick([100, 250.5, 1000])}, ${pick(["succeeded", "failed"])})`;
      }
      for (const channel of ["email", "sms", "push"]) {
        if (r() < 0.6) await tx`insert into public.customer_consent (customer_id, channel, enabled) values (${id}, ${channel}, ${r() < 0.6})`;
      }
    }
  });
  return { marker, tags, customerIds, cities: CITIES.filter((c): c is string => c !== null) };
}

export async function dropWorld(w: World): Promise<void> {
  await sql`delete from public.users where id = any(${w.customerIds}::uuid[])`;
  await sql`delete from auth.users where id = any(${w.customerIds}::uuid[])`;
  await sql`delete from public.customer_tags where id = any(${[w.marker, ...w.tags]}::uuid[])`;
}
