// GET /customer-data-export[?customer_id=<uuid>] -> application/json: everything held about a person
// (docs/compliance.md). A customer exports their own data (customer_id omitted or their own id;
// internal notes, risk overrides and alerts are left out); an admin exports anyone's. The document
// is streamed section by section from a cursor inside one repeatable-read transaction, so a
// customer with a very long history never sits in memory whole; every export is audited.
import { authenticate, type Claims } from "../_shared/auth.ts";
import { sql, type Tx } from "../_shared/db.ts";
import { corsHeaders, HttpError, requireMethod, serveJson } from "../_shared/http.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const API_ROLES = new Set(["anon", "authenticated", "service_role"]);
const BATCH = 500;

async function actAs(tx: Tx, claims: Claims): Promise<void> {
  const role = API_ROLES.has(claims.role) ? claims.role : "anon";
  await tx`select set_config('role', ${role}, true), set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
}

export const handler = serveJson(async (req) => {
  requireMethod(req, "GET");
  const claims = await authenticate(req);
  const given = new URL(req.url).searchParams.get("customer_id");
  const customerId = given ?? claims.sub ?? "";
  if (!UUID.test(customerId)) throw new HttpError(400, "invalid_parameter", "customer_id: must be a uuid");
  const encoder = new TextEncoder();

  return await new Promise<Response>((resolve, reject) => {
    let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
    const counts: Record<string, number> = {};
    let includeInternal = false;
    const audit = (tx: Tx, completed: boolean) =>
      tx`select private.audit_customer_export(${customerId}::uuid, ${tx.json({ format: "json", via: "customer-data-export", include_internal: includeInternal, counts, completed })})`;
    const exported = sql().begin("isolation level repeatable read", async (tx) => {
      await actAs(tx, claims);
      // 42501 (another customer's data, anon) and 22023 (unknown customer) answer before the stream starts
      const [auth] = await tx`select private.authorize_customer_export(${customerId}::uuid) as internal`;
      includeInternal = auth.internal;
      const [{ names }] = await tx`select private.customer_data_section_names() as names`;
      const stream = new TransformStream<Uint8Array, Uint8Array>();
      writer = stream.writable.getWriter();
      resolve(new Response(stream.readable, {
        status: 200,
        headers: {
          ...corsHeaders,
          "Content-Type": "application/json; charset=utf-8",
          "Content-Disposition": `attachment; filename="customer-data-${customerId}.json"`,
          "Cache-Control": "no-store",
        },
      }));
      await writer.write(encoder.encode(`{"customer_id":${JSON.stringify(customerId)},"exported_at":${JSON.stringify(new Date().toISOString())},"sections":{`));
      let current: string | null = null;
      const open = async (section: string) => {
        await writer!.write(encoder.encode(`${current === null ? "" : "],"}${JSON.stringify(section)}:[`));
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
            if (chunk) { await writer!.write(encoder.encode(chunk)); chunk = ""; }
            await open(r.section);
          } else {
            chunk += ",";
          }
          chunk += JSON.stringify(r.item);
          counts[r.section]++;
        }
        if (chunk) await writer!.write(encoder.encode(chunk));
      });
      for (const n of names as string[]) {
        if (!(n in counts) && (includeInternal || !["risk_overrides", "alerts"].includes(n))) await open(n);
      }
      await writer.write(encoder.encode(`${current === null ? "" : "]"}},"counts":${JSON.stringify(counts)}}`));
      await audit(tx, true);
    });
    exported.then(
      () => writer!.close(),
      async (err) => {
        if (!writer) return reject(err);
        console.error("customer-data-export: stream aborted", err);
        await writer.abort(err).catch(() => {});
        await sql().begin(async (tx) => {
          await actAs(tx, claims);
          await audit(tx, false);
        }).catch((e) => console.error("customer-data-export: audit of the aborted export failed", e));
      },
    );
  });
});
