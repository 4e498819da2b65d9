// Segment manager: saved segments with usage, size and last modified; duplicate, auto-refresh,
// refresh, delete, edit; the builder is a multi-step modal (conditions, preview, save).
import { useEffect, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { RuleGroupType } from "react-querybuilder";
import { ApiError, must } from "../api.ts";
import { useDb } from "../session.tsx";
import { SegmentBuilder, useToDefinition } from "../components/SegmentBuilder.tsx";
import { DataTable, ErrorBox, fmtDate, fmtDateTime, fmtMoney, Form, Modal } from "../components/ui.tsx";
import { emptyQuery, errorsFromDetail, fromDefinition, type Definition, type SegmentError } from "../segments.ts";

interface SavedSegment {
  id: string;
  name: string;
  description: string | null;
  definition: unknown;
  auto_refresh: boolean;
}

export function SegmentsScreen() {
  const db = useDb();
  const qc = useQueryClient();
  const [editing, setEditing] = useState<SavedSegment | "new" | null>(null);
  const list = useQuery({
    queryKey: ["segments", "manager"],
    queryFn: async () =>
      must(
        await db
          .from("segment_manager")
          .select("id,name,description,definition,auto_refresh,last_count,last_refreshed_at,updated_at,updated_by_name,usage,usage_count")
          .order("updated_at", { ascending: false }),
      ),
  });
  const invalidate = () => qc.invalidateQueries({ queryKey: ["segments"] });
  const duplicate = useMutation({
    mutationFn: async (id: string) => must(await db.rpc("duplicate_segment", { segment_id: id })),
    onSuccess: invalidate,
  });
  const toggle = useMutation({
    mutationFn: async (v: { id: string; auto_refresh: boolean }) => must(await db.from("customer_segments").update({ auto_refresh: v.auto_refresh }).eq("id", v.id).select("id").single()),
    onSuccess: invalidate,
  });
  const refresh = useMutation({
    mutationFn: async (id: string) => must(await db.rpc("refresh_segment", { segment_id: id })),
    onSuccess: invalidate,
  });
  const remove = useMutation({
    mutationFn: async (id: string) => must(await db.from("customer_segments").delete().eq("id", id).select("id")),
    onSuccess: invalidate,
  });

  return (
    <section aria-labelledby="segments-h">
      <div className="screen-head">
        <h1 id="segments-h">Segments</h1>
        <button type="button" className="primary" onClick={() => setEditing("new")}>
          New segment
        </button>
      </div>
      <ErrorBox error={list.error ?? duplicate.error ?? toggle.error ?? refresh.error ?? remove.error} />
      <DataTable
        label="Saved segments"
        columns={["Segment", { label: "Customers", className: "num" }, "Usage", "Last modified", "Auto-refresh", { label: "Actions", srOnly: true }]}
        rows={list.data}
      >
        {(s) => (
          <tr key={s.id!} data-testid="segment-row">
            <td>
              <strong>{s.name}</strong>
              <div className="muted small">{s.description ?? ""}</div>
            </td>
            <td className="num">
              {s.last_count ?? "—"}
              <div className="muted small">{s.last_refreshed_at ? `as of ${fmtDateTime(s.last_refreshed_at)}` : "not refreshed"}</div>
            </td>
            <td className="small">
              {s.usage_count ? `${s.usage_count} campaign${s.usage_count === 1 ? "" : "s"}` : "unused"}
            </td>
            <td className="small">
              {fmtDate(s.updated_at)} {s.updated_by_name ? `by ${s.updated_by_name}` : ""}
            </td>
            <td>
              <label>
                <input type="checkbox" checked={!!s.auto_refresh} onChange={(e) => toggle.mutate({ id: s.id!, auto_refresh: e.target.checked })} />{" "}
                <span className="sr-only">Auto-refresh {s.name}</span>
                {s.auto_refresh ? "on" : "off"}
              </label>
            </td>
            <td className="actions">
              <button type="button" onClick={() => setEditing(s as SavedSegment)}>
                Edit <span className="sr-only">{s.name}</span>
              </button>
              <button type="button" onClick={() => duplicate.mutate(s.id!)}>
                Duplicate <span className="sr-only">{s.name}</span>
              </button>
              <button type="button" onClick={() => refresh.mutate(s.id!)}>
                Refresh <span className="sr-only">{s.name}</span>
              </button>
              <button type="button" className="danger" onClick={() => confirm(`Delete the segment ${s.name}?`) && remove.mutate(s.id!)}>
                Delete <span className="sr-only">{s.name}</span>
              </button>
            </td>
          </tr>
        )}
      </DataTable>
      {editing && <SegmentModal segment={editing === "new" ? null : editing} onClose={() => setEditing(null)} onSaved={invalidate} />}
    </section>
  );
}

interface Member {
  customer_id: string;
  full_name: string | null;
  email: string | null;
  city: string | null;
  booking_count: number;
  total_spend: number;
  last_booking_at: string | null;
  risk_score: number | null;
}
interface Evaluation {
  total: number;
  members: Member[];
  next_after: string | null;
}

const STEPS = ["Conditions", "Preview", "Save"] as const;

// The validation the database does, as errors (never a second copy in the client).
export async function checkDefinition(db: ReturnType<typeof useDb>, def: Definition): Promise<SegmentError[]> {
  return must(await db.rpc("validate_segment", { definition: def as never })) as unknown as SegmentError[];
}

export function SegmentModal(props: { segment: SavedSegment | null; onClose: () => void; onSaved: () => void }) {
  const db = useDb();
  const toDefinition = useToDefinition();
  const [step, setStep] = useState(0);
  const [query, setQuery] = useState<RuleGroupType>(() => (props.segment ? fromDefinition(props.segment.definition) : emptyQuery()));
  const [errors, setErrors] = useState<SegmentError[]>([]);
  const [checking, setChecking] = useState(false);
  const [preview, setPreview] = useState<Evaluation | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [name, setName] = useState(props.segment ? props.segment.name : "");
  const [description, setDescription] = useState(props.segment?.description ?? "");
  const [autoRefresh, setAutoRefresh] = useState(props.segment?.auto_refresh ?? true);

  // Live count while editing: once the conditions stop changing for a moment and the database
  // accepts them (errors are shown when moving on to the preview).
  const [settled, setSettled] = useState<Definition | null>(null);
  useEffect(() => {
    if (!toDefinition) return;
    const t = setTimeout(() => setSettled(query.rules.length ? toDefinition(query) : null), 600);
    return () => clearTimeout(t);
  }, [query, toDefinition]);
  const live = useQuery({
    queryKey: ["live-count", settled],
    enabled: !!settled,
    queryFn: async () => {
      if ((await checkDefinition(db, settled!)).length) return null;
      return (must(await db.rpc("evaluate_segment", { definition: settled as never, page_size: 1 })) as unknown as Evaluation).total;
    },
  });

  async function toPreview() {
    if (!toDefinition) return;
    setChecking(true);
    setPreviewError(null);
    try {
      const def = toDefinition(query);
      const found = await checkDefinition(db, def);
      setErrors(found);
      if (found.length) return;
      setPreview(must(await db.rpc("evaluate_segment", { definition: def as never, page_size: 10 })) as unknown as Evaluation);
      setStep(1);
    } catch (e) {
      if (e instanceof ApiError && e.code === "22023") setErrors(errorsFromDetail(e.details, e.message));
      else setPreviewError(e);
    } finally {
      setChecking(false);
    }
  }

  const save = useMutation({
    mutationFn: async () => {
      const def = toDefinition!(query);
      const row = { name: name.trim(), description: description.trim() || null, definition: def as never, auto_refresh: autoRefresh };
      const saved: { id: string } = props.segment
        ? must(await db.from("customer_segments").update(row).eq("id", props.segment.id).select("id").single())
        : must(await db.from("customer_segments").insert(row).select("id").single());
      must(await db.rpc("refresh_segment", { segment_id: saved.id }));
      return saved;
    },
    onSuccess: () => {
      props.onSaved();
      props.onClose();
    },
    onError: (e) => {
      if (e instanceof ApiError && e.code === "22023" && /\$/.test(e.message)) {
        setErrors(errorsFromDetail(e.details, e.message));
        setStep(0);
      }
    },
  });

  return (
    <Modal title={props.segment ? `Edit segment: ${props.segment.name}` : "New segment"} onClose={props.onClose} wide testId="segment-modal">
      <ol className="steps" aria-label="Steps">
        {STEPS.map((s, i) => (
          <li key={s} aria-current={i === step ? "step" : undefined} className={i === step ? "current" : i < step ? "done" : ""}>
            {i + 1}. {s}
          </li>
        ))}
      </ol>
      {step === 0 && (
        <div>
          <SegmentBuilder query={query} onChange={setQuery} errors={errors} />
          <p className="muted" aria-live="polite" data-testid="live-count">
            {!settled ? "Add conditions to see how many customers match." : live.data === null ? "Incomplete conditions." : live.data !== undefined ? `${live.data} customers match so far.` : "Counting…"}
          </p>
          {errors.length > 0 && (
            <p role="alert" className="error" data-testid="definition-errors">
              The database refused the conditions ({errors.length} problem{errors.length === 1 ? "" : "s"}); see the marked {errors.length === 1 ? "rule" : "rules"}.
            </p>
          )}
          <ErrorBox error={previewError} />
          <div className="row end">
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
            <button type="button" className="primary" onClick={toPreview} disabled={checking || !toDefinition}>
              {checking ? "Checking…" : "Next: preview"}
            </button>
          </div>
        </div>
      )}
      {step === 1 && preview && (
        <div>
          <p className="big" data-testid="preview-count" aria-live="polite">
            {preview.total} customer{preview.total === 1 ? "" : "s"} match
          </p>
          <DataTable
            label="Preview: first customers"
            columns={["Customer", "City", { label: "Bookings", className: "num" }, { label: "Spend", className: "num" }, "Last booking", { label: "Risk", className: "num" }]}
            rows={preview.members}
          >
            {(m) => (
              <tr key={m.customer_id}>
                <td>
                  {m.full_name}
                  <div className="muted small">{m.email}</div>
                </td>
                <td>{m.city}</td>
                <td className="num">{m.booking_count}</td>
                <td className="num">{fmtMoney(m.total_spend)}</td>
                <td>{fmtDate(m.last_booking_at)}</td>
                <td className="num">{m.risk_score ?? "—"}</td>
              </tr>
            )}
          </DataTable>
          <div className="row end">
            <button type="button" onClick={() => setStep(0)}>
              Back
            </button>
            <button type="button" className="primary" onClick={() => setStep(2)}>
              Next: save
            </button>
          </div>
        </div>
      )}
      {step === 2 && (
        <Form onSubmit={() => save.mutate()}>
          <label className="block">
            Name <input value={name} onChange={(e) => setName(e.target.value)} required aria-invalid={!!save.error} aria-describedby="segment-save-error" />
          </label>
          <label className="block">
            Description <textarea value={description} onChange={(e) => setDescription(e.target.value)} rows={3} />
          </label>
          <label>
            <input type="checkbox" checked={autoRefresh} onChange={(e) => setAutoRefresh(e.target.checked)} /> Refresh membership automatically
          </label>
          <ErrorBox error={save.error} id="segment-save-error" />
          <div className="row end">
            <button type="button" onClick={() => setStep(1)}>
              Back
            </button>
            <button type="submit" className="primary" disabled={save.isPending}>
              {save.isPending ? "Saving…" : "Save segment"}
            </button>
          </div>
        </Form>
      )}
    </Modal>
  );
}
