// Who is calling, verified in code as Supabase's "Securing Edge Functions" guide has it (the
// functions run with verify_jwt = false and authenticate here):
// - Authorization: Bearer <JWT>: an access token signed with the project's asymmetric signing key
//   (ES256/RS256), verified against the JWKS (SUPABASE_JWKS, else SUPABASE_URL's
//   /auth/v1/.well-known/jwks.json) by its kid; or a legacy HS256 token, verified with
//   SUPABASE_JWT_SECRET (or SB_JWT_SECRET) where that is configured. `exp` is required; `alg: none`
//   never passes.
// - apikey: sb_secret_… (service_role), sb_publishable_… (anon), or the legacy service_role /
//   anon JWT keys; server-to-server callers (pg_net jobs, schedulers) send a secret key this way.
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { HttpError } from "./http.ts";

export interface Claims {
  sub?: string;
  role: string;
  exp?: number;
  [key: string]: unknown;
}

function envOf(name: string): string | undefined {
  const value = Deno.env.get(name);
  return value === undefined || value === "" ? undefined : value;
}

// SUPABASE_SECRET_KEYS / SUPABASE_PUBLISHABLE_KEYS are JSON dictionaries on the platform
// ({"default":"sb_secret_…"}); the singular forms are accepted as well.
function keysOf(plural: string, singular: string): string[] {
  const keys: string[] = [];
  const dict = envOf(plural);
  if (dict) {
    try {
      const parsed = JSON.parse(dict);
      if (parsed && typeof parsed === "object") keys.push(...Object.values(parsed as Record<string, unknown>).filter((v): v is string => typeof v === "string"));
    } catch {
      keys.push(dict);
    }
  }
  const one = envOf(singular);
  if (one) keys.push(one);
  return keys;
}

function same(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

// The role an API key stands for; null when the value is not an API key (a JWT to verify).
// An sb_… value that is not one of the project's keys is refused (401).
export async function keyRole(key: string, opts: { jwtKeys?: boolean } = {}): Promise<string | null> {
  // SB_…: the names a project may set itself (SUPABASE_… secrets are reserved by the platform).
  const secrets = [...keysOf("SUPABASE_SECRET_KEYS", "SUPABASE_SECRET_KEY"), ...keysOf("SB_SECRET_KEYS", "SB_SECRET_KEY")];
  const publishable = [...keysOf("SUPABASE_PUBLISHABLE_KEYS", "SUPABASE_PUBLISHABLE_KEY"), ...keysOf("SB_PUBLISHABLE_KEYS", "SB_PUBLISHABLE_KEY")];
  if (secrets.some((k) => same(k, key))) return "service_role";
  if (publishable.some((k) => same(k, key))) return "anon";
  if (key.startsWith("sb_")) throw new HttpError(401, "invalid_api_key", "Invalid API key: not a publishable or secret key of this project");
  const legacyService = envOf("SUPABASE_SERVICE_ROLE_KEY");
  if (legacyService && same(legacyService, key)) return "service_role";
  const legacyAnon = envOf("SUPABASE_ANON_KEY");
  if (legacyAnon && same(legacyAnon, key)) return "anon";
  if (opts.jwtKeys && key.split(".").length === 3) {
    // A legacy key minted with the JWT secret (anon / service_role).
    const claims = await verifyJwt(key);
    if (claims.role === "anon" || claims.role === "service_role") return claims.role;
    throw new HttpError(401, "invalid_api_key", "Invalid API key: a JWT api key must carry the anon or service_role role");
  }
  return null;
}

let keySet: { source: string; get: JWTVerifyGetKey } | undefined;

function jwks(): JWTVerifyGetKey | null {
  const inline = envOf("SUPABASE_JWKS");
  const url = envOf("SUPABASE_URL");
  const source = inline ?? (url ? `${url.replace(/\/$/, "")}/auth/v1/.well-known/jwks.json` : "");
  if (!source) return null;
  if (keySet?.source !== source) {
    if (inline) {
      const parsed = JSON.parse(inline);
      keySet = { source, get: createLocalJWKSet(Array.isArray(parsed) ? { keys: parsed } : parsed) };
    } else {
      keySet = { source, get: createRemoteJWKSet(new URL(source)) };
    }
  }
  return keySet.get;
}

const invalid = (message: string) => new HttpError(401, "invalid_jwt", message);

export async function verifyJwt(token: string): Promise<Claims> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw invalid("the JWT is malformed");
  }
  try {
    let payload: Record<string, unknown>;
    if (alg === "HS256") {
      const secret = envOf("SUPABASE_JWT_SECRET") ?? envOf("SB_JWT_SECRET");
      if (!secret) throw invalid("legacy HS256 tokens are not accepted: no SUPABASE_JWT_SECRET (or SB_JWT_SECRET) is configured");
      ({ payload } = await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ["HS256"], requiredClaims: ["exp"] }));
    } else if (alg === "ES256" || alg === "RS256") {
      const get = jwks();
      if (!get) throw invalid("no signing keys configured (SUPABASE_JWKS or SUPABASE_URL)");
      ({ payload } = await jwtVerify(token, get, { algorithms: ["ES256", "RS256"], requiredClaims: ["exp"] }));
    } else {
      throw invalid(`the JWT algorithm ${alg ?? "(none)"} is not accepted`);
    }
    if (typeof payload.role !== "string") throw invalid("the JWT has no role claim");
    return payload as Claims;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (err instanceof errors.JWTExpired) throw invalid("the JWT has expired");
    if (err instanceof errors.JWTClaimValidationFailed && err.claim === "exp") throw invalid("the JWT has no exp claim");
    if (err instanceof errors.JWKSNoMatchingKey) throw invalid("the JWT was signed with an unknown key (kid)");
    throw invalid("the JWT is invalid: bad signature or malformed");
  }
}

export function bearer(req: Request): string {
  const header = req.headers.get("Authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new HttpError(401, "missing_jwt", "missing Authorization: Bearer <JWT> header");
  return match[1];
}

// The caller's claims; 401 when missing, forged, expired or an unknown key.
export async function authenticate(req: Request): Promise<Claims> {
  const header = req.headers.get("Authorization");
  const apikey = req.headers.get("apikey");
  if (header !== null) {
    const token = bearer(req);
    const role = await keyRole(token);
    if (role) return { role };
    return await verifyJwt(token);
  }
  if (apikey) {
    const role = await keyRole(apikey, { jwtKeys: true });
    if (role) return { role };
    throw new HttpError(401, "invalid_api_key", "Invalid API key");
  }
  throw new HttpError(401, "missing_jwt", "missing Authorization: Bearer <JWT> header (or an apikey header for server-to-server calls)");
}
