// Budgets, timeouts and batch sizes of the edge functions, each named once. Limits on content
// (subject, body, audience sizes) are the database's: the RPCs enforce them, zod only parses shape.
import { env } from "./env.ts";

// One HTTP call to a provider (SendGrid, Twilio, Expo); PROVIDER_TIMEOUT_MS overrides.
export const PROVIDER_TIMEOUT_MS = 15_000;
export const providerTimeoutMs = (): number => Number(env("PROVIDER_TIMEOUT_MS", String(PROVIDER_TIMEOUT_MS)));

// Recipients per provider request: SendGrid mail/send personalizations, Expo push messages.
export const SENDGRID_BATCH = 1_000;
export const EXPO_BATCH = 100;

// One dispatch-messages run: its default time budget and the range a caller may ask for.
export const DISPATCH_BUDGET_MS = 20_000;
export const DISPATCH_BUDGET_MIN_MS = 100;
export const DISPATCH_BUDGET_MAX_MS = 120_000;

// A SendGrid event webhook batch, and how old its signed timestamp may be
// (SENDGRID_WEBHOOK_TOLERANCE_SECONDS overrides).
export const SENDGRID_EVENTS_MAX_BYTES = 10 * 1024 * 1024;
export const SENDGRID_WEBHOOK_TOLERANCE_SECONDS = 600;

// Connections of one function instance to Postgres (DB_POOL_SIZE overrides).
export const DB_POOL_SIZE = 10;
