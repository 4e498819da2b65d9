// POST /functions/v1/bulk-message (docs/api.md §8): freezes the audience, creates the campaign and
// queues one recipient row per member with its fate, in one transaction as the caller.
// An Idempotency-Key header makes a repeat of the same request answer the first answer (even in
// parallel); the same key with another request is a 422 (docs/messaging.md).
import { HttpError, json, MiB, serveJson } from "../_shared/http.ts";
import { bulkMessage, idempotencyKey } from "../_shared/messaging/schemas.ts";
import { asStaff, authorizeStaff } from "../_shared/staff.ts";
import { parseWith, readJson } from "../_shared/validate.ts";

// 100,000 customer ids (about 4 MB) or an HTML body of 500,000 characters fit.
const MAX_BODY_BYTES = 8 * MiB;

export const handler = serveJson(async (req) => {
  const claims = await authorizeStaff(req, "POST", "communications");
  const key = req.headers.get("Idempotency-Key");
  if (key !== null) {
    const parsed = idempotencyKey.safeParse(key);
    if (!parsed.success) {
      throw new HttpError(400, "invalid_header", `Idempotency-Key: ${parsed.error.issues[0].message}`);
    }
  }
  const input = await readJson(req);
  parseWith(bulkMessage, input);
  // the request as sent goes to SQL, which checks it again and compares it for the key
  const result = await asStaff(claims, "communications", async (tx) => {
    const [row] = await tx<[{ r: Record<string, unknown> }]>`
      select public.queue_bulk_message(${tx.json(input as never)}, ${key}) as r`;
    return row.r;
  });
  return json(202, result);
}, { maxBodyBytes: MAX_BODY_BYTES });
