// Segments tab: every saved segment, whether this customer is in it and why
// (explain_segment_membership: each rule with the customer's value and whether it matched).
import { useQueries, useQuery } from "@tanstack/react-query";
import { must } from "../api.ts";
import { useDb } from "../session.tsx";
import { ErrorBox } from "../components/ui.tsx";
import { fieldLabel } from "../segments.ts";

interface ExplainNode {
  path: string;
  matched: boolean;
  combinator?: string;
  not?: boolean;
  rules?: ExplainNode[];
  field?: string;
  operator?: string;
  value?: unknown;
  customer_value?: unknown;
}

const show = (v: unknown) => (v === null || v === undefined ? "none" : typeof v === "string" ? v : JSON.stringify(v));

function Explain(props: { node: ExplainNode }) {
  const n = props.node;
  if (n.rules) {
    return (
      <li>
        <span className={n.matched ? "ok" : "no"}>{n.matched ? "✓" : "✗"}</span> {n.not ? "NOT " : ""}
        {n.combinator?.toUpperCase()} of:
        <ul>
          {n.rules.map((r) => (
            <Explain key={r.path} node={r} />
          ))}
        </ul>
      </li>
    );
  }
  return (
    <li>
      <span className={n.matched ? "ok" : "no"} aria-label={n.matched ? "matched" : "not matched"}>
        {n.matched ? "✓" : "✗"}
      </span>{" "}
      {fieldLabel(n.field ?? "")} {n.operator} {n.value === undefined ? "" : show(n.value)} <span className="muted">(customer: {show(n.customer_value)})</span>
    </li>
  );
}

export function SegmentsTab(props: { customerId: string }) {
  const db = useDb();
  const segments = useQuery({
    queryKey: ["segments", "all-definitions"],
    queryFn: async () => must(await db.from("customer_segments").select("id,name,definition").order("name")),
  });
  const explained = useQueries({
    queries: (segments.data ?? []).map((s) => ({
      queryKey: ["explain", s.id, props.customerId],
      queryFn: async () =>
        must(await db.rpc("explain_segment_membership", { definition: s.definition, customer_id: props.customerId })) as unknown as {
          member: boolean;
          explanation: ExplainNode;
        },
    })),
  });
  if (segments.error) return <ErrorBox error={segments.error} />;
  const rows = (segments.data ?? []).map((s, i) => ({ s, e: explained[i] }));
  rows.sort((a, b) => Number(b.e?.data?.member ?? false) - Number(a.e?.data?.member ?? false));
  return (
    <ul className="segments-explained" aria-label="Segments">
      {rows.map(({ s, e }) => (
        <li key={s.id} data-testid="segment-membership">
          <details open={e?.data?.member}>
            <summary>
              <strong>{s.name}</strong>{" "}
              {e?.data ? (
                <span className={e.data.member ? "badge on" : "badge off"}>{e.data.member ? "member" : "not a member"}</span>
              ) : (
                <span className="muted">checking…</span>
              )}
            </summary>
            {e?.error && <ErrorBox error={e.error} />}
            {e?.data && (
              <ul className="explain">
                <Explain node={e.data.explanation} />
              </ul>
            )}
          </details>
        </li>
      ))}
      {segments.data?.length === 0 && <li className="muted">No saved segments.</li>}
    </ul>
  );
}
