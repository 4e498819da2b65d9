// GET /consent-proofs?campaign_id=<uuid> -> text/csv: one line per recipient of the campaign with
// the proof of its consent (the history row, wording version, double opt-in, send-time check)
// and the problem, if any. Streamed from a cursor inside one repeatable-read transaction as the
// caller, formula-safe cells, admins only; every export is audited (who, which campaign, rows).
import type { Tx } from "../_shared/db.ts";
import { streamExport } from "../_shared/exports.ts";
import { HttpError, serveJson } from "../_shared/http.ts";
import { authorizeStaff } from "../_shared/staff.ts";
import { UUID } from "../_shared/validate.ts";
import { csvLine } from "../timeline-export/csv.ts";

export const PROOF_CSV_COLUMNS = [
  "recipient_id", "campaign_id", "purpose", "customer_id", "channel", "address", "status", "attempts", "consent_checked_at",
  "sent_at", "provider_message_id", "consent_history_id", "consent_source", "consent_changed_at", "consent_changed_by",
  "consent_granted", "override_audit_id", "wording_version", "confirmation_id", "confirmation_requested_at",
  "confirmation_requested_source", "confirmation_status", "confirmed_at", "confirmed_via", "confirmed_ip",
  "confirmed_user_agent", "confirmed_message_sid", "consent_on_at_check", "suppressed_at_check", "valid", "problem",
] as const;

const BATCH = 500;

function cell(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

function audit(tx: Tx, campaignId: string, rows: number, invalid: number, completed: boolean) {
  return tx`select private.audit_export('consent_proofs', ${campaignId}::uuid::text, ${tx.json({ format: "csv", rows, invalid, completed })})`;
}

export const handler = serveJson(async (req) => {
  const claims = await authorizeStaff(req, "GET", "admin");
  const campaignId = new URL(req.url).searchParams.get("campaign_id") ?? "";
  if (!UUID.test(campaignId)) throw new HttpError(400, "invalid_parameter", "campaign_id: must be a uuid");
  let rows = 0;
  let invalid = 0;
  return await streamExport({
    name: "consent-proofs",
    claims,
    contentType: "text/csv; charset=utf-8",
    filename: `consent-proofs-${campaignId}.csv`,
    write: async (tx, start) => {
      const [found] = await tx`select exists (select 1 from public.campaigns where id = ${campaignId}) as ok`;
      if (!found.ok) throw new HttpError(404, "not_found", `campaign_id: no campaign ${campaignId}`);
      const write = start();
      await write(csvLine([...PROOF_CSV_COLUMNS]));
      await tx`select * from private.recipient_proofs(${campaignId}::uuid) order by recipient_id`.cursor(BATCH, async (batch) => {
        let chunk = "";
        for (const r of batch) {
          const row = { ...r, valid: r.problem === null };
          if (r.problem !== null && (r.attempts > 0 || r.sent_at)) invalid++;
          chunk += csvLine(PROOF_CSV_COLUMNS.map((c) => cell((row as Record<string, unknown>)[c])));
        }
        rows += batch.length;
        await write(chunk);
      });
    },
    audit: (tx, completed) => audit(tx, campaignId, rows, invalid, completed),
  });
});
