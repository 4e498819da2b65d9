// The functions only staff may call: who calls and their role are checked before the body is
// read (a customer's body never is), in the order the RPCs answer: the method, who (401), the
// role (403); the role is checked again in the transaction that does the work.
import type { z } from "zod";
import { authenticate, type Claims } from "./auth.ts";
import { asCaller, requireRole, type StaffRole, type Tx } from "./db.ts";
import { requireMethod } from "./http.ts";
import { parseWith, readJson } from "./validate.ts";

export async function authorizeStaff(req: Request, method: "GET" | "POST", role: StaffRole): Promise<Claims> {
  requireMethod(req, method);
  const claims = await authenticate(req);
  await asCaller(claims, (tx) => requireRole(tx, role));
  return claims;
}

// A staff POST with a JSON body: authorized first, then read and parsed with schema (400 on failure).
export async function readStaffRequest<S extends z.ZodType>(req: Request, role: StaffRole, schema: S): Promise<{ claims: Claims; body: z.infer<S> }> {
  const claims = await authorizeStaff(req, "POST", role);
  return { claims, body: parseWith(schema, await readJson(req)) };
}

// Runs fn in a transaction as the caller, once their role is confirmed in it.
export async function asStaff<T>(claims: Claims, role: StaffRole, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return await asCaller(claims, async (tx) => {
    await requireRole(tx, role);
    return await fn(tx);
  });
}
