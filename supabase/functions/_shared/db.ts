// Database access as PostgREST does it: a transaction with the caller's role and JWT claims,
// so RLS and the SQL permission checks decide, not this code.
import postgres from "postgres";
import { env } from "./env.ts";
import type { Claims } from "./auth.ts";
import { DB_POOL_SIZE } from "./limits.ts";

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

let pool: Sql | undefined;

export function sql(): Sql {
  pool ??= postgres(env("SUPABASE_DB_URL", "postgresql://postgres:postgres@127.0.0.1:54322/postgres"), {
    max: Number(env("DB_POOL_SIZE", String(DB_POOL_SIZE))),
    idle_timeout: 20,
    onnotice: () => {},
    connection: { application_name: "edge-functions" },
  });
  return pool;
}

const API_ROLES = new Set(["anon", "authenticated", "service_role"]);

// Makes the rest of the transaction act as the JWT's role and subject.
export async function actAs(tx: Tx, claims: Claims): Promise<void> {
  const role = API_ROLES.has(claims.role) ? claims.role : "anon";
  await tx`select set_config('role', ${role}, true), set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
}

// Runs fn in a transaction acting as the JWT's role and subject.
export async function asCaller<T>(claims: Claims, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return await sql().begin(async (tx) => {
    await actAs(tx, claims);
    return await fn(tx);
  }) as T;
}

// Runs fn in a transaction as the service role (webhooks, dispatch): RLS bypassed, still no superuser.
export async function asService<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
  return await asCaller({ role: "service_role" }, fn);
}

export type StaffRole = "admin" | "communications";

// The one staff check of the functions: raises 42501 (answered 403) without the role.
export async function requireRole(tx: Tx, role: StaffRole): Promise<void> {
  await tx`select private.require_role(${role})`;
}

export async function closeDb(): Promise<void> {
  await pool?.end({ timeout: 5 });
  pool = undefined;
}
