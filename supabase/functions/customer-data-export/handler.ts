// GET /customer-data-export[?customer_id=<uuid>] -> application/json: everything held about a person
// (docs/compliance.md). A customer exports their own data (customer_id omitted or their own id;
// internal notes, risk overrides and alerts are left out); an admin exports anyone's. The document
// is streamed section by section from a cursor inside one repeatable-read transaction, so a
// customer with a very long history never sits in memory whole; every export is audited.
import { authenticate } from "../_shared/auth.ts";
import { streamExport } from "../_shared/exports.ts";
import { HttpError, requireMethod, serveJson } from "../_shared/http.ts";
import { UUID } from "../_shared/validate.ts";

const BATCH = 500;

export const handler = serveJson(async (req) => {
  requireMethod(req, "GET");
  const claims = await authenticate(req);
  const given = new URL(req.url).searchParams.get("customer_id");
  const customerId = given ?? claims.sub ?? "";
  if (!UUID.test(customerId)) throw new HttpError(400, "invalid_parameter", "customer_id: must be a uuid");
  const counts: Record<string, number> = {};
  let includeInternal = false;
  return await streamExport({
    name: "customer-data-export",
    claims,
    contentType: "application/json; charset=utf-8",
    filename: `customer-data-${customerId}.json`,
    write: async (tx, start) => {
      // 42501 (another customer's data, anon) and 22023 (unknown customer) answer before the stream starts
      const [auth] = await tx`select private.authorize_customer_export(${customerId}::uuid) as internal`;
      includeInternal = auth.internal;
      const [{ names }] = await tx`select private.customer_data_section_names() as names`;
      const write = start();
      await write(`{"customer_id":${JSON.stringify(customerId)},"exported_at":${JSON.stringify(new Date().toISOString())},"sections":{`);
      let current: string | null = null;
      const open = async (section: string) => {
        await write(`${current === null ? "" : "],"}${JSON.stringify(section)}:[`);
        current = section;
        counts[section] = 0;
      };
      // sections come in their documented order, each an array of records; empty ones follow
      await tx`
        select d.section, d.item from private.customer_data_sections(${customerId}::uuid, ${includeInternal}) d
         order by array_position(private.customer_data_section_names(), d.section)`.cursor(BATCH, async (rows) => {
        let chunk = "";
        for (const r of rows) {
          if (r.section !== current) {
            if (chunk) { await write(chunk); chunk = ""; }
            await open(r.section);
          } else {
            chunk += ",";
          }
          chunk += JSON.stringify(r.item);
          counts[r.section]++;
        }
        if (chunk) await write(chunk);
      });
      for (const n of names as string[]) {
        if (!(n in counts) && (includeInternal || !["risk_overrides", "alerts"].includes(n))) await open(n);
      }
      await write(`${current === null ? "" : "]"}},"counts":${JSON.stringify(counts)}}`);
    },
    audit: (tx, completed) =>
      tx`select private.audit_customer_export(${customerId}::uuid, ${tx.json({ format: "json", via: "customer-data-export", include_internal: includeInternal, counts, completed })})`,
  });
});
