// Proves the path gateway -> function -> database, acting as the caller.
import { authenticate } from "../_shared/auth.ts";
import { asCaller } from "../_shared/db.ts";
import { json, requireMethod, serveJson } from "../_shared/http.ts";

export const handler = serveJson(async (req) => {
  requireMethod(req, "GET", "POST");
  const claims = await authenticate(req);
  const [row] = await asCaller(claims, (tx) =>
    tx`select current_user as db_role, auth.uid() as user_id, now() as db_time`
  );
  return json(200, { ok: true, ...row });
});
