// Customer list: tags, segments, risk, LTV, consents; the advanced filter is the segment builder;
// keyset paging with list_customers (next_after), the risk level from customer_effective_risk.
import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { RuleGroupType } from "react-querybuilder";
import { ApiError, must } from "../api.ts";
import { useDb } from "../session.tsx";
import { SegmentBuilder, useToDefinition } from "../components/SegmentBuilder.tsx";
import { ConsentPills, DataTable, ErrorBox, fmtDate, fmtMoney, Form, RiskBadge, TagChip, type TagLike } from "../components/ui.tsx";
import { emptyQuery, errorsFromDetail, type Definition, type SegmentError } from "../segments.ts";
import { CustomerDrawer } from "./CustomerDrawer.tsx";

export interface ListedCustomer {
  customer_id: string;
  full_name: string | null;
  email: string | null;
  city: string | null;
  risk_score: number | null;
  lifetime_value: number | null;
  booking_count: number;
  last_booking_at: string | null;
  total_spend: number;
  consent_email: boolean;
  consent_sms: boolean;
  consent_push: boolean;
  tags: TagLike[];
  segments: { id: string; name: string }[];
}

const PAGE = 50;

export function CustomersScreen() {
  const db = useDb();
  const toDefinition = useToDefinition();
  const [draft, setDraft] = useState<RuleGroupType>(emptyQuery);
  const [filter, setFilter] = useState<Definition | null>(null);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [open, setOpen] = useState<string | null>(null);
  const [showFilter, setShowFilter] = useState(false);
  const after = cursors[cursors.length - 1];

  const page = useQuery({
    queryKey: ["customers", filter, after],
    placeholderData: keepPreviousData,
    queryFn: async () => {
      const t0 = performance.now();
      const res = must(await db.rpc("list_customers", { definition: filter as never, page_size: PAGE, after: after ?? undefined })) as unknown as {
        customers: ListedCustomer[];
        next_after: string | null;
      };
      const ids = res.customers.map((c) => c.customer_id);
      const levels = ids.length
        ? must(await db.from("customer_effective_risk").select("customer_id,risk_level,override_score").in("customer_id", ids))
        : [];
      const byId = new Map(levels.map((l) => [l.customer_id, l]));
      return { ...res, levels: byId, ms: Math.round(performance.now() - t0) };
    },
  });

  const filterErrors: SegmentError[] =
    page.error instanceof ApiError && page.error.code === "22023" ? errorsFromDetail(page.error.details, page.error.message) : [];

  function apply() {
    if (!toDefinition) return;
    setFilter(draft.rules.length ? toDefinition(draft) : null);
    setCursors([null]);
  }

  return (
    <section aria-labelledby="customers-h">
      <div className="screen-head">
        <h1 id="customers-h">Customers</h1>
        <button type="button" aria-expanded={showFilter} aria-controls="advanced-filter" onClick={() => setShowFilter((v) => !v)}>
          {showFilter ? "Hide advanced filter" : "Advanced filter"}
          {filter ? " (on)" : ""}
        </button>
      </div>
      {showFilter && (
        <Form id="advanced-filter" className="panel" label="Advanced filter" onSubmit={apply}>
          <SegmentBuilder query={draft} onChange={setDraft} errors={filterErrors} label="Advanced filter conditions" />
          <div className="row">
            <button type="submit" className="primary">Apply filter</button>
            <button
              type="button"
              onClick={() => {
                setDraft(emptyQuery());
                setFilter(null);
                setCursors([null]);
              }}
            >
              Clear
            </button>
          </div>
        </Form>
      )}
      {page.error && !filterErrors.length && <ErrorBox error={page.error} />}
      {filterErrors.length > 0 && (
        <p role="alert" className="error">The filter is not valid: {filterErrors.map((e) => `${e.path}: ${e.message}`).join("; ")}</p>
      )}
      <DataTable
        label="Customers"
        busy={page.isFetching}
        columns={["Customer", "City", "Tags", "Segments", "Risk", { label: "LTV", className: "num" }, { label: "Bookings", className: "num" }, "Last booking", "Consents"]}
        rows={page.data?.customers}
        empty="No customers match."
      >
        {(c) => {
          const lv = page.data?.levels.get(c.customer_id);
          return (
            <tr key={c.customer_id}>
              <td>
                <button type="button" className="link" onClick={() => setOpen(c.customer_id)} aria-haspopup="dialog">
                  {c.full_name ?? "(no name)"}
                </button>
                <div className="muted small">{c.email ?? "no email"}</div>
              </td>
              <td>{c.city ?? "—"}</td>
              <td>{c.tags.map((t) => <TagChip key={t.id} tag={t} />)}</td>
              <td className="small">{c.segments.map((s) => s.name).join(", ") || "—"}</td>
              <td>
                <RiskBadge score={c.risk_score} level={lv?.risk_level} override={lv?.override_score != null} />
              </td>
              <td className="num">{fmtMoney(c.lifetime_value)}</td>
              <td className="num">{c.booking_count}</td>
              <td>{fmtDate(c.last_booking_at)}</td>
              <td>
                <ConsentPills email={c.consent_email} sms={c.consent_sms} push={c.consent_push} />
              </td>
            </tr>
          );
        }}
      </DataTable>
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          ← Previous
        </button>
        <span>Page {cursors.length}</span>
        <button type="button" disabled={!page.data?.next_after} onClick={() => setCursors((c) => [...c, page.data!.next_after])}>
          Next →
        </button>
        {page.data && <span className="muted small" data-testid="page-ms">loaded in {page.data.ms} ms</span>}
      </nav>
      {open && <CustomerDrawer customerId={open} onClose={() => setOpen(null)} />}
    </section>
  );
}
