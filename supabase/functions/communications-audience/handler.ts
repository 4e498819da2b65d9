// POST /functions/v1/communications-audience: freezes an audience (segment_id, definition or
// customer_ids) into campaign_audiences and reports its size and eligibility per channel.
import { json, MiB, serveJson } from "../_shared/http.ts";
import { audienceRequest } from "../_shared/messaging/schemas.ts";
import { asStaff, readStaffRequest } from "../_shared/staff.ts";

// 100,000 customer ids (about 4 MB) fit.
const MAX_BODY_BYTES = 8 * MiB;

export const handler = serveJson(async (req) => {
  const { claims, body } = await readStaffRequest(req, "communications", audienceRequest);
  const result = await asStaff(claims, "communications", async (tx) => {
    const [row] = await tx<[{ r: Record<string, unknown> }]>`
      select public.freeze_campaign_audience(${tx.json(body.audience as never)}, ${body.campaign_id ?? null}) as r`;
    return row.r;
  });
  return json(201, result);
}, { maxBodyBytes: MAX_BODY_BYTES });
