// Push tokens through the API as a frontend calls it (supabase-js -> gateway -> real PostgREST),
// as two customers: a token moves to the account whose app registers it, and no answer tells a
// customer whether the token existed (issue 12).
import { createClient } from "@supabase/supabase-js";
import { afterAll, describe, expect, it } from "vitest";
import type { Database } from "../../types/database.ts";
import { accessToken } from "../../scripts/keys.mjs";
import { sql } from "../support/index.ts";
import { API_URL, PUBLISHABLE_KEY } from "../support/api.ts";
import { customerWith } from "../support/messaging.ts";

afterAll(async () => {
  await sql.end();
});

async function signedIn(user: { id: string; email: string }) {
  const token = await accessToken(user, 3600);
  return createClient<Database>(API_URL, PUBLISHABLE_KEY, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    accessToken: async () => token,
  });
}

const token = () => `ExponentPushToken[${crypto.randomUUID().replaceAll("-", "")}]`;

describe("push tokens, as two customers through PostgREST", () => {
  it("a token registered by another account moves to the one that registers it, and the answers are alike", async () => {
    const [a, b] = [await customerWith({ consent: { push: true } }), await customerWith({ consent: { push: true } })];
    const [ca, cb] = [await signedIn(a as { id: string; email: string }), await signedIn(b as { id: string; email: string })];
    const shared = token();

    const first = await ca.rpc("register_push_token", { token: shared, platform: "ios" });
    expect(first.error).toBeNull();
    expect((await ca.from("customer_push_tokens").select("token")).data).toEqual([{ token: shared }]);

    // B's direct insert: refused alike for A's token and for an unknown one (no 409 that leaks it)
    const direct = await cb.from("customer_push_tokens").insert({ customer_id: b.id, token: shared });
    const directNew = await cb.from("customer_push_tokens").insert({ customer_id: b.id, token: token() });
    expect({ status: direct.status, code: direct.error?.code }).toEqual({ status: 403, code: "42501" });
    expect({ status: directNew.status, code: directNew.error?.code }).toEqual({ status: 403, code: "42501" });
    expect(direct.error?.message).toBe(directNew.error?.message);
    expect((await cb.from("customer_push_tokens").select("token")).data).toEqual([]);

    // B's app registers it: the same answer as for a token nobody had
    const moved = await cb.rpc("register_push_token", { token: shared, platform: "android" });
    const fresh = await cb.rpc("register_push_token", { token: token(), platform: "android" });
    expect({ status: moved.status, error: moved.error }).toEqual({ status: fresh.status, error: null });
    expect(Object.keys(moved.data as object).sort()).toEqual(Object.keys(fresh.data as object).sort());
    expect((moved.data as { registered: boolean }).registered).toBe(true);

    expect((await ca.from("customer_push_tokens").select("token")).data).toEqual([]);
    expect((await cb.from("customer_push_tokens").select("token").eq("token", shared)).data).toEqual([{ token: shared }]);
    const [row] = await sql`select customer_id, platform from public.customer_push_tokens where token = ${shared}`;
    expect(row).toEqual({ customer_id: b.id, platform: "android" });

    // A signing out with B's token changes nothing and answers as usual
    const out = await ca.rpc("unregister_push_token", { token: shared });
    expect(out.error).toBeNull();
    const [still] = await sql`select disabled_at from public.customer_push_tokens where token = ${shared}`;
    expect(still.disabled_at).toBeNull();
  });

  it("bad tokens and anon are refused with the documented codes", async () => {
    const a = await customerWith({});
    const ca = await signedIn(a as { id: string; email: string });
    const bad = await ca.rpc("register_push_token", { token: "not-a-token" });
    expect({ status: bad.status, code: bad.error?.code }).toEqual({ status: 400, code: "22023" });
    expect(bad.error?.message).toBe("token: must be an Expo push token, ExponentPushToken[...]");
    const anon = createClient<Database>(API_URL, PUBLISHABLE_KEY, { auth: { persistSession: false } });
    const refused = await anon.rpc("register_push_token", { token: token() });
    expect({ status: refused.status, code: refused.error?.code }).toEqual({ status: 401, code: "42501" });
  });
});
