export const TEST_PORTS = {
  functions: Number(process.env.TEST_FUNCTIONS_PORT ?? 54331),
  fakeProvider: Number(process.env.TEST_FAKE_PROVIDER_PORT ?? 54339),
  dbUrl: process.env.DB_URL ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
};
