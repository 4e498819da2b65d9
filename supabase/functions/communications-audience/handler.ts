// POST /functions/v1/communications-audience: freezes an audience (segment_id, definition or
// customer_ids) into campaign_audiences and reports its size and eligibility per channel.
import { asCaller, authorizeStaff, requireRole } from "../_shared/db.ts";
import { json, MiB, serveJson } from "../_shared/http.ts";
import { audienceRequest } from "../_shared/messaging/schemas.ts";
import { parseWith, readJson } from "../_shared/validate.ts";

// 100,000 customer ids (about 4 MB) fit.
const MAX_BODY_BYTES = 8 * MiB;

export const handler = serveJson(async (req) => {
  const claims = await authorizeStaff(req, "POST", "communications");
  const body = parseWith(audienceRequest, await readJson(req));
  const result = await asCaller(claims, async (tx) => {
    await requireRole(tx, "communications");
    const [row] = await tx<[{ r: Record<string, unknown> }]>`
      select public.freeze_campaign_audience(${tx.json(body.audience as never)}, ${body.campaign_id ?? null}) as r`;
    return row.r;
  });
  return json(201, result);
}, { maxBodyBytes: MAX_BODY_BYTES });
