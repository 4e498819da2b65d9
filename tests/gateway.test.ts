import { afterAll, describe, expect, it } from "vitest";
import { callFunction, createUser, mintJwt, sql } from "./support/index.ts";

afterAll(async () => {
  await sql.end();
});

describe("functions gateway verifies the JWT like Supabase's", () => {
  it("answers 401 with a JSON body when the JWT is missing", async () => {
    const res = await callFunction("health");
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect((await res.json()).error.code).toBe("missing_jwt");
  });

  it("answers 401 to a JWT signed with another secret", async () => {
    const forged = await mintJwt("service_role", undefined, { secret: "not-the-secret-not-the-secret-not-the-secret" });
    const res = await callFunction("health", { jwt: forged });
    expect(res.status).toBe(401);
    expect((await res.json()).error).toMatchObject({ code: "invalid_jwt" });
  });

  it("answers 401 to an expired JWT", async () => {
    const expired = await mintJwt("authenticated", crypto.randomUUID(), { ttlSeconds: -60 });
    const res = await callFunction("health", { jwt: expired });
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toMatch(/expired/);
  });

  it("answers 401 to a token that is not a JWT at all", async () => {
    const res = await callFunction("health", { jwt: "not.a.jwt" });
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("invalid_jwt");
  });

  it("answers 404 with JSON for a function that does not exist", async () => {
    const res = await callFunction("no-such-function", { jwt: await mintJwt("service_role") });
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe("not_found");
  });

  it("hands a valid request to the function, which acts as the caller in the database", async () => {
    const admin = await createUser(["admin"]);
    const res = await callFunction("health", { jwt: admin.jwt });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ ok: true, db_role: "authenticated", user_id: admin.id });
  });
});
