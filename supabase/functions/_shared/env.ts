// Configuration comes from the environment; locally the gateway also loads supabase/functions/.env.
export function env(name: string, fallback?: string): string {
  const value = Deno.env.get(name);
  if (value !== undefined && value !== "") return value;
  if (fallback !== undefined) return fallback;
  throw new Error(`missing configuration: ${name}`);
}

export const DEFAULT_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
