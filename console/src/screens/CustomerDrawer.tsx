// The customer drawer: summary header (customer_summary) with tag chips, then the tabs Timeline,
// Notes, Segments and Communications.
import { useEffect, useRef, useState, type ReactNode } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { must } from "../api.ts";
import { useDb } from "../session.tsx";
import { ErrorBox, fmtDate, fmtMoney, Form, RiskBadge, TagChip, type TagLike } from "../components/ui.tsx";
import { TimelineTab } from "./TimelineTab.tsx";
import { NotesTab } from "./NotesTab.tsx";
import { SegmentsTab } from "./SegmentsTab.tsx";
import { CommunicationsTab } from "./CommunicationsTab.tsx";

export interface Summary {
  customer: { id: string; full_name: string | null; email: string | null; phone: string | null; city: string | null; region: string | null; country_code: string | null; created_at: string; preferred_contact_method: string | null };
  risk: { score: number | null; computed: number | null; override: { score: number; reason?: string; expires_at?: string | null } | null; level: string | null };
  lifetime_value: number | null;
  total_spend: number;
  booking_count: number;
  last_booking_at: string | null;
  tags: TagLike[];
  consent: { email: boolean; sms: boolean; push: boolean };
  insurance_expiring: { id: string; kind: string; expires_at: string; status?: string }[];
  overdue_balance: number;
  open_tickets: number;
  account_manager: { id: string; full_name: string | null; email: string | null } | null;
}

const TABS = ["Timeline", "Notes", "Segments", "Communications"] as const;
type Tab = (typeof TABS)[number];

export function useSummary(customerId: string) {
  const db = useDb();
  return useQuery({
    queryKey: ["summary", customerId],
    queryFn: async () => must(await db.rpc("customer_summary", { customer_id: customerId })) as unknown as Summary,
  });
}

export function CustomerDrawer(props: { customerId: string; onClose: () => void }) {
  const summary = useSummary(props.customerId);
  const [tab, setTab] = useState<Tab>("Timeline");
  const ref = useRef<HTMLElement>(null);
  const tabRefs = useRef<(HTMLButtonElement | null)[]>([]);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    ref.current?.focus();
    return () => prev?.focus?.(); // back to the row that opened it
  }, [props.customerId]);
  const s = summary.data;

  return (
    <div className="drawer-backdrop" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <aside
        ref={ref}
        className="drawer"
        role="dialog"
        aria-modal="true"
        aria-labelledby="drawer-title"
        tabIndex={-1}
        data-testid="customer-drawer"
        onKeyDown={(e) => e.key === "Escape" && props.onClose()}
      >
        <header className="drawer-head">
          <div>
            <h2 id="drawer-title">{s?.customer.full_name ?? (summary.isLoading ? "Loading…" : "Customer")}</h2>
            {s && (
              <p className="muted small">
                {s.customer.email ?? "no email"} · {s.customer.phone ?? "no phone"} · {[s.customer.city, s.customer.country_code].filter(Boolean).join(", ")} · customer since {fmtDate(s.customer.created_at)}
              </p>
            )}
          </div>
          <button type="button" className="modal-close" aria-label="Close customer" onClick={props.onClose}>
            ×
          </button>
        </header>
        <ErrorBox error={summary.error} />
        {s && (
          <section className="summary" aria-label="Summary">
            <dl>
              <div>
                <dt>Risk</dt>
                <dd>
                  <RiskBadge score={s.risk.score} level={s.risk.level} override={!!s.risk.override} />
                  {s.risk.override && (
                    <span className="muted small">
                      {" "}
                      override {s.risk.override.score} (computed {s.risk.computed ?? "—"}){s.risk.override.reason ? `: ${s.risk.override.reason}` : ""}
                    </span>
                  )}
                  <RiskOverride customerId={props.customerId} hasOverride={!!s.risk.override} />
                </dd>
              </div>
              <Fact term="LTV">{fmtMoney(s.lifetime_value)}</Fact>
              <Fact term="Total spend">{fmtMoney(s.total_spend)}</Fact>
              <Fact term="Bookings">{s.booking_count}</Fact>
              <Fact term="Last booking">{fmtDate(s.last_booking_at)}</Fact>
              <Fact term="Overdue balance" warn={Number(s.overdue_balance) > 0}>
                {fmtMoney(s.overdue_balance)}
              </Fact>
              <Fact term="Open tickets">{s.open_tickets}</Fact>
              <Fact term="Insurance expiring" warn={s.insurance_expiring.length > 0}>
                {s.insurance_expiring.length ? s.insurance_expiring.map((d) => `${d.kind} ${fmtDate(d.expires_at)}`).join(", ") : "none in 30 days"}
              </Fact>
              <Fact term="Account manager">{s.account_manager?.full_name ?? "—"}</Fact>
            </dl>
            <TagEditor customerId={props.customerId} tags={s.tags} />
          </section>
        )}
        <div role="tablist" aria-label="Customer details" className="tabs">
          {TABS.map((t, i) => (
            <button
              key={t}
              ref={(el) => {
                tabRefs.current[i] = el;
              }}
              role="tab"
              type="button"
              id={`tab-${t}`}
              aria-selected={tab === t}
              aria-controls={`panel-${t}`}
              tabIndex={tab === t ? 0 : -1}
              onClick={() => setTab(t)}
              onKeyDown={(e) => {
                const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
                if (!d) return;
                const next = (i + d + TABS.length) % TABS.length;
                setTab(TABS[next]);
                tabRefs.current[next]?.focus();
              }}
            >
              {t}
            </button>
          ))}
        </div>
        <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="tabpanel">
          {tab === "Timeline" && <TimelineTab customerId={props.customerId} />}
          {tab === "Notes" && <NotesTab customerId={props.customerId} />}
          {tab === "Segments" && <SegmentsTab customerId={props.customerId} />}
          {tab === "Communications" && <CommunicationsTab customerId={props.customerId} name={s?.customer.full_name ?? "this customer"} />}
        </div>
      </aside>
    </div>
  );
}

// One figure of the summary; `warn` marks one that needs attention.
function Fact(props: { term: string; warn?: boolean; children: ReactNode }) {
  return (
    <div>
      <dt>{props.term}</dt>
      <dd className={props.warn ? "warn" : undefined}>{props.children}</dd>
    </div>
  );
}

// The admin's override of the risk score (logged in the timeline by the database), or clearing it.
function RiskOverride(props: { customerId: string; hasOverride: boolean }) {
  const db = useDb();
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [score, setScore] = useState("");
  const [reason, setReason] = useState("");
  const [expires, setExpires] = useState("");
  const done = () => {
    setOpen(false);
    for (const k of [["summary", props.customerId], ["timeline", props.customerId], ["customers"]]) qc.invalidateQueries({ queryKey: k });
  };
  const save = useMutation({
    mutationFn: async () =>
      must(
        await db.rpc("override_risk", {
          customer_id: props.customerId,
          score: (score.trim() === "" ? null : Number(score)) as number,
          reason,
          expires_at: expires ? new Date(expires + "T00:00:00Z").toISOString() : undefined,
        }),
      ),
    onSuccess: done,
  });
  const clear = useMutation({
    mutationFn: async () => must(await db.rpc("clear_risk_override", { customer_id: props.customerId })),
    onSuccess: done,
  });
  return (
    <span className="risk-override">
      <button type="button" className="small" aria-expanded={open} onClick={() => setOpen((v) => !v)}>
        Override…
      </button>
      {props.hasOverride && (
        <button type="button" className="small" onClick={() => clear.mutate()} disabled={clear.isPending}>
          Clear override
        </button>
      )}
      {open && (
        <Form className="panel" label="Risk override" onSubmit={() => save.mutate()}>
          <label>
            Score (0–100) <input type="number" min={0} max={100} step="0.01" value={score} onChange={(e) => setScore(e.target.value)} required />
          </label>
          <label className="block">
            Reason <input value={reason} onChange={(e) => setReason(e.target.value)} required />
          </label>
          <label>
            Expires (optional) <input type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />
          </label>
          <button type="submit" className="primary" disabled={save.isPending}>
            Save override
          </button>
          <ErrorBox error={save.error} />
        </Form>
      )}
      <ErrorBox error={clear.error} />
    </span>
  );
}

// Tag chips with remove buttons, and a search box to assign more.
function TagEditor(props: { customerId: string; tags: TagLike[] }) {
  const db = useDb();
  const qc = useQueryClient();
  const [search, setSearch] = useState("");
  const [open, setOpen] = useState(false);
  const found = useQuery({
    queryKey: ["tags", "search", search],
    enabled: open,
    queryFn: async () => {
      let q = db.from("customer_tags").select("id,name,color").order("name").limit(20);
      if (search.trim()) q = q.ilike("name", `%${search.trim().replace(/[%_\\]/g, (c) => "\\" + c)}%`);
      return must(await q);
    },
  });
  const changed = () => {
    for (const k of [["summary", props.customerId], ["timeline", props.customerId], ["customers"], ["tags"]]) qc.invalidateQueries({ queryKey: k });
  };
  const add = useMutation({
    mutationFn: async (tagId: string) => must(await db.from("customer_tag_members").insert({ customer_id: props.customerId, tag_id: tagId })),
    onSuccess: () => {
      setSearch("");
      changed();
    },
  });
  const remove = useMutation({
    mutationFn: async (tagId: string) =>
      must(await db.from("customer_tag_members").delete().eq("customer_id", props.customerId).eq("tag_id", tagId)),
    onSuccess: changed,
  });
  const have = new Set(props.tags.map((t) => t.id));
  const options = (found.data ?? []).filter((t) => !have.has(t.id));

  return (
    <div className="tag-editor" aria-label="Tags" role="group">
      <span className="label">Tags</span>
      {props.tags.map((t) => (
        <TagChip key={t.id} tag={t} onRemove={() => remove.mutate(t.id)} busy={remove.isPending} />
      ))}
      <div className="combo">
        <label>
          <span className="sr-only">Add a tag</span>
          <input
            type="search"
            placeholder="Add tag…"
            value={search}
            role="combobox"
            aria-expanded={open && options.length > 0}
            aria-controls="tag-options"
            aria-autocomplete="list"
            onFocus={() => setOpen(true)}
            onChange={(e) => {
              setSearch(e.target.value);
              setOpen(true);
            }}
            onKeyDown={(e) => {
              if (e.key === "Enter" && options[0]) {
                e.preventDefault();
                add.mutate(options[0].id);
              }
              if (e.key === "Escape") setOpen(false);
            }}
          />
        </label>
        {open && options.length > 0 && (
          <ul id="tag-options" role="listbox" aria-label="Matching tags" className="options">
            {options.map((t) => (
              <li key={t.id} role="option" aria-selected={false}>
                <button type="button" onClick={() => add.mutate(t.id)}>
                  <TagChip tag={t} />
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
      <ErrorBox error={add.error ?? remove.error} />
    </div>
  );
}
