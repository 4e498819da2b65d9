// Verifies the caller's JWT (HS256, SUPABASE_JWT_SECRET) the way Supabase's gateway does.
import { errors, jwtVerify } from "jose";
import { DEFAULT_JWT_SECRET, env } from "./env.ts";
import { HttpError } from "./http.ts";

export interface Claims {
  sub?: string;
  role: string;
  exp?: number;
  [key: string]: unknown;
}

function secret(): Uint8Array {
  return new TextEncoder().encode(env("SUPABASE_JWT_SECRET", DEFAULT_JWT_SECRET));
}

export async function verifyJwt(token: string): Promise<Claims> {
  try {
    const { payload } = await jwtVerify(token, secret(), { algorithms: ["HS256"] });
    if (typeof payload.role !== "string") throw new HttpError(401, "invalid_jwt", "the JWT has no role claim");
    return payload as Claims;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (err instanceof errors.JWTExpired) throw new HttpError(401, "invalid_jwt", "the JWT has expired");
    throw new HttpError(401, "invalid_jwt", "the JWT is invalid: bad signature or malformed");
  }
}

export function bearer(req: Request): string {
  const header = req.headers.get("Authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new HttpError(401, "missing_jwt", "missing Authorization: Bearer <JWT> header");
  return match[1];
}

// The caller's claims; 401 when missing, forged or expired.
export async function authenticate(req: Request): Promise<Claims> {
  return await verifyJwt(bearer(req));
}
