// A slow client must not hold a database connection: timeline-export fetches each page in its
// own short transaction when the client has read the last one. Ten downloads read at about 1 KB/s
// leave no connection idle in transaction, and health and twilio-inbound answer at once meanwhile.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callFunction, createUser, FUNCTIONS_URL, sql, type TestUser } from "../support/index.ts";
import { postTwilio } from "../support/webhooks.ts";

let admin: TestUser;
let customer: TestUser;
const PHONE = "+4790011223";
const EVENTS = 40_000; // about 12 MB of CSV: far more than the socket buffers between server and client

interface SlowDownload {
  received: () => number;
  stop: () => void;
}

// Reads 256 bytes every 250 ms once the answer starts: about 1 KB/s.
function slowDownload(path: string, jwt: string): Promise<SlowDownload> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${FUNCTIONS_URL}/${path}`);
    const req = http.get(url, { headers: { Authorization: `Bearer ${jwt}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
      res.pause();
      let received = 0;
      const timer = setInterval(() => {
        const chunk = res.read(256) as Buffer | null;
        if (chunk) received += chunk.length;
      }, 250);
      resolve({ received: () => received, stop: () => { clearInterval(timer); req.destroy(); } });
    });
    req.on("error", () => {});
  });
}

// Connections of the functions held idle in a transaction for over a second: a transaction left
// open while a client is slow. (Between the statements of a short page transaction a connection is
// idle in transaction for a moment; that is not held.)
async function idleInTransaction(): Promise<number> {
  const [row] = await sql`select count(*)::int as n from pg_stat_activity
                           where application_name = 'edge-functions' and state like 'idle in transaction%'
                             and clock_timestamp() - state_change > interval '1 second'`;
  return row.n;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: Math.round(performance.now() - t0), value };
}

beforeAll(async () => {
  admin = await createUser(["admin"]);
  customer = await createUser([], { phone: PHONE });
  await sql`select private.record_timeline_event(${customer.id}::uuid, 'note', 'test', gen_random_uuid(), 'k',
                                                 now() - make_interval(secs => i), 'Event ' || i || ' ' || repeat('x', 240), '{}'::jsonb)
              from generate_series(1, ${EVENTS}) i`;
});

afterAll(async () => {
  await sql`delete from public.customer_timeline_events where customer_id = ${customer.id}`;
});

describe("timeline-export with ten slow clients", () => {
  it("holds no connection idle in transaction, and health and twilio-inbound answer at once", async () => {
    const downloads: SlowDownload[] = [];
    try {
      for (let i = 0; i < 10; i++) downloads.push(await slowDownload(`timeline-export?customer_id=${customer.id}`, admin.jwt));
      // let the server fill the socket buffers and block on the slow readers
      await new Promise((r) => setTimeout(r, 3000));
      for (let i = 0; i < 3; i++) {
        expect(await idleInTransaction()).toBe(0);
        await new Promise((r) => setTimeout(r, 500));
      }

      const health = await timed(async () => await callFunction("health", { jwt: admin.jwt }));
      expect(health.value.status).toBe(200);
      const inbound = await timed(async () =>
        await postTwilio("twilio-inbound", { MessageSid: `SM${crypto.randomUUID().replace(/-/g, "")}`, From: PHONE, To: "+15005550006", Body: "HELP" }));
      expect(inbound.value.status).toBe(200);
      console.log(`ten slow exports: health answered in ${health.ms} ms, twilio-inbound in ${inbound.ms} ms; ` +
        `the downloads had read ${downloads.map((d) => d.received()).join(", ")} bytes`);
      // bounded: with the downloads holding the pool, these waited 8-10 s before
      expect(health.ms).toBeLessThan(2000);
      expect(inbound.ms).toBeLessThan(2000);
      expect(await idleInTransaction()).toBe(0);
      // the downloads are still going: each has read a little and is far from done
      for (const d of downloads) expect(d.received()).toBeLessThan(1024 * 1024);
    } finally {
      for (const d of downloads) d.stop();
    }
    // each cut download is audited as incomplete
    let rows: Array<{ completed: boolean }> = [];
    for (let i = 0; i < 50 && rows.length < 10; i++) {
      await new Promise((r) => setTimeout(r, 100));
      rows = await sql`select (context ->> 'completed')::boolean as completed from public.audit_log
                        where entity = 'customer_timeline' and entity_id = ${customer.id}` as never;
    }
    expect(rows).toHaveLength(10);
    expect(rows.every((r) => r.completed === false)).toBe(true);
  });
});
