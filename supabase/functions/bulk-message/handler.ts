// POST /functions/v1/bulk-message (CONTRACT §8): freezes the audience, creates the campaign and
// queues one recipient row per member with its fate, in one transaction as the caller.
import { authenticate } from "../_shared/auth.ts";
import { asCaller, requireRole } from "../_shared/db.ts";
import { json, MiB, requireMethod, serveJson } from "../_shared/http.ts";
import { bulkMessage } from "../_shared/messaging/schemas.ts";
import { parseWith, readJson } from "../_shared/validate.ts";

// 100,000 customer ids (about 4 MB) or an HTML body of 500,000 characters fit.
const MAX_BODY_BYTES = 8 * MiB;

export const handler = serveJson(async (req) => {
  requireMethod(req, "POST");
  const claims = await authenticate(req);
  // who may call before what they send: a customer's body is never read
  await asCaller(claims, (tx) => requireRole(tx, "communications"));
  const body = parseWith(bulkMessage, await readJson(req));
  const result = await asCaller(claims, async (tx) => {
    await tx`select private.require_role('communications')`;
    const [row] = await tx<[{ r: Record<string, unknown> }]>`select public.queue_bulk_message(${tx.json(body as never)}) as r`;
    return row.r;
  });
  return json(202, result);
}, { maxBodyBytes: MAX_BODY_BYTES });
