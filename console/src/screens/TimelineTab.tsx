// Timeline: customer_timeline with keyset cursor (infinite scroll), grouped by UTC day, an icon per
// event type, quick type filters with the counts the RPC returns, CSV export via timeline-export.
import { useEffect, useRef, useState } from "react";
import { useInfiniteQuery } from "@tanstack/react-query";
import { invoke, must } from "../api.ts";
import { useDb } from "../session.tsx";
import { ErrorBox } from "../components/ui.tsx";

interface TimelineEvent {
  id: string;
  event_type: string;
  occurred_at: string;
  reference_id: string | null;
  title: string;
  metadata: Record<string, unknown>;
}
interface TimelinePage {
  events: TimelineEvent[];
  next_cursor: string | null;
  counts: Record<string, number>;
}

export const EVENT_TYPES = ["booking", "payment", "support", "note", "campaign", "logistics", "promotion", "insurance", "consent", "risk", "tag", "segment"] as const;
// An icon per event type: a coloured disc with a glyph (drawn, so no emoji font is needed).
const ICONS: Record<string, { glyph: string; color: string }> = {
  booking: { glyph: "B", color: "#2563eb" }, payment: { glyph: "$", color: "#16a34a" }, support: { glyph: "?", color: "#9333ea" },
  note: { glyph: "N", color: "#64748b" }, campaign: { glyph: "@", color: "#0891b2" }, logistics: { glyph: "L", color: "#ca8a04" },
  promotion: { glyph: "%", color: "#db2777" }, insurance: { glyph: "I", color: "#0d9488" }, consent: { glyph: "C", color: "#4f46e5" },
  risk: { glyph: "!", color: "#dc2626" }, tag: { glyph: "#", color: "#ea580c" }, segment: { glyph: "S", color: "#7c3aed" },
};

export function EventIcon(props: { type: string; decorative?: boolean }) {
  const icon = ICONS[props.type] ?? { glyph: "•", color: "#94a3b8" };
  return (
    <svg className="ev-icon" width="20" height="20" viewBox="0 0 20 20" {...(props.decorative ? { "aria-hidden": true } : { role: "img", "aria-label": props.type })}>
      <circle cx="10" cy="10" r="10" fill={icon.color} />
      <text x="10" y="14.5" textAnchor="middle" fontSize="12" fontWeight="700" fill="#fff">
        {icon.glyph}
      </text>
    </svg>
  );
}

function dayLabel(iso: string): string {
  const day = iso.slice(0, 10);
  const today = new Date().toISOString().slice(0, 10);
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  if (day === today) return `Today · ${day}`;
  if (day === yesterday) return `Yesterday · ${day}`;
  return new Date(day + "T00:00:00Z").toLocaleDateString("en-GB", { weekday: "short", year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
}

export function TimelineTab(props: { customerId: string }) {
  const db = useDb();
  const [types, setTypes] = useState<string[]>([]);
  const [exportError, setExportError] = useState<unknown>(null);
  const [exporting, setExporting] = useState(false);
  const sentinel = useRef<HTMLDivElement>(null);

  const q = useInfiniteQuery({
    queryKey: ["timeline", props.customerId, types],
    initialPageParam: null as string | null,
    getNextPageParam: (last: TimelinePage) => last.next_cursor,
    queryFn: async ({ pageParam }) =>
      must(
        await db.rpc("customer_timeline", {
          customer_id: props.customerId,
          event_types: types.length ? types : undefined,
          page_size: 30,
          cursor: pageParam ?? undefined,
        }),
      ) as unknown as TimelinePage,
  });

  // Infinite scroll: load the next page when the end of the list comes into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && q.hasNextPage && !q.isFetchingNextPage) q.fetchNextPage();
    });
    io.observe(el);
    return () => io.disconnect();
  }, [q.hasNextPage, q.isFetchingNextPage, q.fetchNextPage]);

  const counts = q.data?.pages[0]?.counts ?? {};
  const events = q.data?.pages.flatMap((p) => p.events) ?? [];
  const groups: { day: string; events: TimelineEvent[] }[] = [];
  for (const e of events) {
    const day = e.occurred_at.slice(0, 10);
    if (groups.at(-1)?.day !== day) groups.push({ day, events: [] });
    groups.at(-1)!.events.push(e);
  }

  async function exportCsv() {
    setExporting(true);
    setExportError(null);
    try {
      const params = new URLSearchParams({ customer_id: props.customerId });
      if (types.length) params.set("types", types.join(","));
      const csv = await invoke<string>(db, `timeline-export?${params}`, { method: "GET" });
      const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = `timeline-${props.customerId}.csv`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setExportError(e);
    } finally {
      setExporting(false);
    }
  }

  const toggle = (t: string) => setTypes((cur) => (cur.includes(t) ? cur.filter((x) => x !== t) : [...cur, t]));

  return (
    <div className="timeline">
      <div className="row wrap" role="group" aria-label="Filter by event type">
        {EVENT_TYPES.map((t) => (
          <button key={t} type="button" className="toggle" aria-pressed={types.includes(t)} onClick={() => toggle(t)}>
            <EventIcon type={t} decorative /> {t}
            {counts[t] !== undefined && <span className="count"> {counts[t]}</span>}
          </button>
        ))}
        {types.length > 0 && (
          <button type="button" onClick={() => setTypes([])}>
            All types
          </button>
        )}
        <button type="button" onClick={exportCsv} disabled={exporting}>
          {exporting ? "Exporting…" : "Export CSV"}
        </button>
      </div>
      <ErrorBox error={exportError} />
      <ErrorBox error={q.error} />
      {q.isLoading && <p aria-busy="true">Loading timeline…</p>}
      {q.data && events.length === 0 && <p className="muted">No events{types.length ? " of these types" : ""}.</p>}
      <ol className="timeline-days" aria-label="Timeline">
        {groups.map((g) => (
          <li key={g.day}>
            <h3 className="day">{dayLabel(g.day)}</h3>
            <ol>
              {g.events.map((e) => (
                <li key={e.id} className={`event ev-${e.event_type}`} data-testid="timeline-event">
                  <EventIcon type={e.event_type} />
                  <span className="time">{e.occurred_at.slice(11, 16)}</span>
                  <span className="title">{e.title}</span>
                </li>
              ))}
            </ol>
          </li>
        ))}
      </ol>
      <div ref={sentinel} aria-hidden="true" style={{ height: 1 }} />
      {q.hasNextPage && (
        <button type="button" onClick={() => q.fetchNextPage()} disabled={q.isFetchingNextPage}>
          {q.isFetchingNextPage ? "Loading…" : "Load older events"}
        </button>
      )}
    </div>
  );
}
