// POST /functions/v1/communications-audience: freezes an audience (segment_id, definition or
// customer_ids) into campaign_audiences and reports its size and eligibility per channel.
import { authenticate } from "../_shared/auth.ts";
import { asCaller } from "../_shared/db.ts";
import { json, requireMethod, serveJson } from "../_shared/http.ts";
import { audienceRequest } from "../_shared/messaging/schemas.ts";
import { parseWith, readJson } from "../_shared/validate.ts";

export const handler = serveJson(async (req) => {
  requireMethod(req, "POST");
  const claims = await authenticate(req);
  const body = parseWith(audienceRequest, await readJson(req));
  const result = await asCaller(claims, async (tx) => {
    await tx`select private.require_role('communications')`;
    const [row] = await tx<[{ r: Record<string, unknown> }]>`
      select public.freeze_campaign_audience(${tx.json(body.audience as never)}, ${body.campaign_id ?? null}) as r`;
    return row.r;
  });
  return json(201, result);
});
