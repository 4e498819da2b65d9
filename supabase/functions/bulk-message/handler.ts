// POST /functions/v1/bulk-message (docs/api.md §8): freezes the audience, creates the campaign and
// queues one recipient row per member with its fate, in one transaction as the caller.
import { authenticate } from "../_shared/auth.ts";
import { asCaller } from "../_shared/db.ts";
import { json, requireMethod, serveJson } from "../_shared/http.ts";
import { bulkMessage } from "../_shared/messaging/schemas.ts";
import { parseWith, readJson } from "../_shared/validate.ts";

export const handler = serveJson(async (req) => {
  requireMethod(req, "POST");
  const claims = await authenticate(req);
  const body = parseWith(bulkMessage, await readJson(req));
  const result = await asCaller(claims, async (tx) => {
    await tx`select private.require_role('communications')`;
    const [row] = await tx<[{ r: Record<string, unknown> }]>`select public.queue_bulk_message(${tx.json(body as never)}) as r`;
    return row.r;
  });
  return json(202, result);
});
