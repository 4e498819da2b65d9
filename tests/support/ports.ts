// The test stack's ports (so `npm start` may run beside the tests), below the ephemeral range;
// scripts/env.sh sets them.
export const TEST_PORTS = {
  functions: Number(process.env.TEST_FUNCTIONS_PORT ?? 25431),
  postgrest: Number(process.env.TEST_POSTGREST_PORT ?? 25430),
  fakeProvider: Number(process.env.TEST_FAKE_PROVIDER_PORT ?? 25439),
  dbUrl: process.env.DB_URL ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
};

// The API gateway as supabase-js sees it: /rest/v1 (PostgREST), /functions/v1, /auth/v1/.well-known/jwks.json.
export const API_URL = `http://127.0.0.1:${TEST_PORTS.functions}`;
