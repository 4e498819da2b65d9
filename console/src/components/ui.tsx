// Small shared pieces: chips, badges, a modal dialog, tables, forms, error and money formatting.
import { useEffect, useRef, type ReactNode } from "react";
import { errorText } from "../api.ts";

export interface TagLike {
  id: string;
  name: string;
  color?: string | null;
}

function textOn(color: string): string {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return "#111";
  const [r, g, b] = [m[1], m[2], m[3]].map((h) => parseInt(h, 16));
  return r * 0.299 + g * 0.587 + b * 0.114 > 150 ? "#111" : "#fff";
}

export function TagChip(props: { tag: TagLike; onRemove?: () => void; busy?: boolean }) {
  const bg = props.tag.color ?? "#e2e8f0";
  return (
    <span className="chip" style={{ background: bg, color: textOn(bg) }} data-testid="tag-chip">
      {props.tag.name}
      {props.onRemove && (
        <button type="button" className="chip-x" aria-label={`Remove tag ${props.tag.name}`} onClick={props.onRemove} disabled={props.busy}>
          ×
        </button>
      )}
    </span>
  );
}

export function RiskBadge(props: { score: number | null | undefined; level: string | null | undefined; override?: boolean }) {
  if (props.score === null || props.score === undefined) return <span className="badge none">no score</span>;
  const level = props.level ?? "unknown";
  return (
    <span className={`badge risk-${level}`} title={`risk ${level}${props.override ? " (override)" : ""}`}>
      {level} · {Math.round(Number(props.score))}
      {props.override ? " ✎" : ""}
    </span>
  );
}

const money = new Intl.NumberFormat("en", { minimumFractionDigits: 0, maximumFractionDigits: 0 });
export function fmtMoney(v: number | string | null | undefined): string {
  return v === null || v === undefined ? "—" : money.format(Number(v));
}
export function fmtDate(v: string | null | undefined): string {
  return v ? new Date(v).toISOString().slice(0, 10) : "—";
}
export function fmtDateTime(v: string | null | undefined): string {
  return v ? new Date(v).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "—";
}

export function ErrorBox(props: { error: unknown; id?: string }) {
  if (!props.error) return null;
  return (
    <p role="alert" className="error" id={props.id}>
      {errorText(props.error)}
    </p>
  );
}

// A column of a DataTable: its header, a class for its header cell, or a header only screen readers see.
export type Column = string | { label: string; className?: string; srOnly?: boolean };

// A table (class "grid") with a header cell per column, a row per item (`children` renders one),
// and `empty` in a row across the table when the items have loaded and there are none.
export function DataTable<T>(props: {
  columns: Column[];
  rows: T[] | undefined;
  children: (row: T) => ReactNode;
  empty?: ReactNode;
  label?: string;
  labelledBy?: string;
  className?: string;
  busy?: boolean;
}) {
  return (
    <table className={props.className ?? "grid"} aria-label={props.label} aria-labelledby={props.labelledBy} aria-busy={props.busy}>
      <thead>
        <tr>
          {props.columns.map((c) => {
            const col = typeof c === "string" ? { label: c } : c;
            return (
              <th key={col.label} scope="col" className={col.className}>
                {col.srOnly ? <span className="sr-only">{col.label}</span> : col.label}
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {props.rows?.map((row) => props.children(row))}
        {props.empty !== undefined && props.rows?.length === 0 && (
          <tr>
            <td colSpan={props.columns.length} className="muted">{props.empty}</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

// A form that runs onSubmit instead of navigating.
export function Form(props: { onSubmit: () => void; children: ReactNode; label?: string; className?: string; id?: string }) {
  return (
    <form
      id={props.id}
      className={props.className}
      aria-label={props.label}
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      {props.children}
    </form>
  );
}

// A modal dialog: labelled, focus moves in, Escape closes, Tab stays inside.
export function Modal(props: { title: string; onClose: () => void; children: ReactNode; wide?: boolean; testId?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>("input, select, textarea, button:not(.modal-close), [tabindex]");
    (first ?? ref.current)?.focus();
    return () => prev?.focus?.();
  }, []);
  const titleId = `modal-${props.title.replace(/\W+/g, "-")}`;
  return (
    <div className="backdrop" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div
        ref={ref}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        className={props.wide ? "modal wide" : "modal"}
        data-testid={props.testId}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.stopPropagation();
            props.onClose();
          }
          if (e.key === "Tab" && ref.current) {
            const items = [...ref.current.querySelectorAll<HTMLElement>("a[href], button:not([disabled]), input, select, textarea, [tabindex]:not([tabindex='-1'])")];
            if (!items.length) return;
            const [first, last] = [items[0], items[items.length - 1]];
            if (e.shiftKey && document.activeElement === first) {
              e.preventDefault();
              last.focus();
            } else if (!e.shiftKey && document.activeElement === last) {
              e.preventDefault();
              first.focus();
            }
          }
        }}
      >
        <header className="modal-head">
          <h2 id={titleId}>{props.title}</h2>
          <button type="button" className="modal-close" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </header>
        {props.children}
      </div>
    </div>
  );
}

export function ConsentPills(props: { email: boolean; sms: boolean; push: boolean }) {
  return (
    <span className="consents">
      {(["email", "sms", "push"] as const).map((c) => (
        <span key={c} className={props[c] ? "pill on" : "pill off"} title={`${c}: ${props[c] ? "consented" : "no consent"}`}>
          {c} {props[c] ? "✓" : "✗"}
        </span>
      ))}
    </span>
  );
}
