// The console's only way to the backend: supabase-js with the generated types, against
// <apiUrl>/rest/v1 and <apiUrl>/functions/v1. Errors become ApiError with the API's own message.
import { createClient, FunctionsHttpError, type SupabaseClient } from "@supabase/supabase-js";
import type { Database, Json } from "../../types/database.ts";

export type Db = SupabaseClient<Database>;
export type { Json };

export interface ConsoleConfig {
  apiUrl: string;
  anonKey: string;
  localSignIn: boolean;
}

// Two values configure the console: the API URL and the publishable (anon) key. A build for
// Supabase bakes them in (VITE_SUPABASE_URL, VITE_SUPABASE_PUBLISHABLE_KEY); the local server hands
// them out at /console-config.json together with the local sign-in switch.
export async function loadConfig(): Promise<ConsoleConfig> {
  const url = import.meta.env.VITE_SUPABASE_URL as string | undefined;
  const key = import.meta.env.VITE_SUPABASE_PUBLISHABLE_KEY as string | undefined;
  if (url && key) return { apiUrl: url, anonKey: key, localSignIn: false };
  const res = await fetch("/console-config.json");
  if (!res.ok) throw new Error(`console-config.json: ${res.status}`);
  return (await res.json()) as ConsoleConfig;
}

// Local sign-in: a token minted by the local stack for a seeded login (no Auth server locally).
export function clientWithToken(config: ConsoleConfig, token: string): Db {
  return createClient<Database>(config.apiUrl, config.anonKey, { accessToken: async () => token });
}

// Supabase Auth sign-in: the usual client with a persisted session.
export function authClient(config: ConsoleConfig): Db {
  return createClient<Database>(config.apiUrl, config.anonKey, { auth: { persistSession: true } });
}

// What newestOf needs of a supabase-js query.
interface Ordered<Q> {
  eq(column: "customer_id", value: string): Q;
  order(column: string, options: { ascending: boolean }): Q;
  limit(count: number): Q;
}

// One customer's rows of a query, newest first by `column`, at most `limit` (the drawer's tabs).
export function newestOf<Q extends Ordered<Q>>(query: Q, customerId: string, column: string, limit: number): Q {
  return query.eq("customer_id", customerId).order(column, { ascending: false }).limit(limit);
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | null = null,
    readonly details: unknown = null,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

interface PgErr {
  message: string;
  code?: string;
  details?: string | null;
  hint?: string | null;
}

export function fromPostgrest(err: PgErr, status?: number): ApiError {
  return new ApiError(err.message, err.code ?? null, err.details ?? null, status ?? null);
}

// Unwraps a PostgREST answer or throws its error.
export function must<T>(res: { data: T | null; error: PgErr | null; status?: number }): T {
  if (res.error) throw fromPostgrest(res.error, res.status);
  return res.data as T;
}

// Calls an edge function; 4xx/5xx bodies ({"error":{"code","message","details"}}) become ApiError.
export async function invoke<T>(
  db: Db,
  name: string,
  opts: { body?: unknown; method?: "GET" | "POST"; headers?: Record<string, string> } = {},
): Promise<T> {
  const { data, error } = await db.functions.invoke(name, {
    method: opts.method ?? "POST",
    body: opts.body as Record<string, unknown> | undefined,
    headers: opts.headers,
  });
  if (error) {
    if (error instanceof FunctionsHttpError) {
      const res = error.context as Response;
      let body: { error?: { code?: string; message?: string; details?: unknown } } | null = null;
      try {
        body = await res.json();
      } catch {
        /* not JSON */
      }
      throw new ApiError(body?.error?.message ?? `${name}: HTTP ${res.status}`, body?.error?.code ?? null, body?.error?.details ?? null, res.status);
    }
    throw new ApiError(`${name}: ${error.message}`);
  }
  return data as T;
}

export function errorText(err: unknown): string {
  if (!err) return "";
  if (err instanceof ApiError) return err.code && !/^PGRST/.test(err.code) ? `${err.message} (${err.code})` : err.message;
  return err instanceof Error ? err.message : String(err);
}
