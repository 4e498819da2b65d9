// Mints local JWTs signed with SUPABASE_JWT_SECRET.
//   node scripts/mint-jwt.mjs service_role
//   node scripts/mint-jwt.mjs authenticated <user-uuid> [ttl-seconds]
import { SignJWT } from "jose";

const secret = new TextEncoder().encode(
  process.env.SUPABASE_JWT_SECRET ?? "super-secret-jwt-token-with-at-least-32-characters-long",
);

export async function mintJwt(role, sub, ttlSeconds = 3600 * 24) {
  const jwt = new SignJWT({ role, ...(sub ? { sub } : {}) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + Number(ttlSeconds));
  if (sub) jwt.setSubject(sub);
  return await jwt.sign(secret);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [role = "service_role", sub, ttl] = process.argv.slice(2);
  console.log(await mintJwt(role, sub, ttl));
}
