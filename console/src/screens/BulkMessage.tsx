// Bulk message: channel, template or content, audience (a saved segment or the builder), a preview
// for one customer, schedule and throttle; then the campaign's stats as a chart, refreshed live.
import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { RuleGroupType } from "react-querybuilder";
import { ApiError, invoke, must } from "../api.ts";
import { useDb } from "../session.tsx";
import { SegmentBuilder, useToDefinition } from "../components/SegmentBuilder.tsx";
import { ErrorBox, fmtDateTime, Form } from "../components/ui.tsx";
import { emptyQuery, errorsFromDetail, type Definition, type SegmentError } from "../segments.ts";

type Channel = "email" | "sms" | "push";
interface SendResult {
  campaign_id: string;
  audience_count: number;
  queued: number;
  skipped: { no_consent: number; suppressed: number; no_address: number };
}
interface Preview {
  subject: string | null;
  title: string | null;
  text: string;
  html: string | null;
}
interface FieldIssue {
  path: string;
  message: string;
}

function issuesOf(err: unknown): FieldIssue[] {
  return err instanceof ApiError && Array.isArray(err.details) ? (err.details as FieldIssue[]) : [];
}
function FieldError(props: { issues: FieldIssue[]; path: string; id: string }) {
  const mine = props.issues.filter((i) => i.path === props.path || i.path.startsWith(props.path + "."));
  if (!mine.length) return null;
  return (
    <span className="field-error" role="alert" id={props.id}>
      {mine.map((i) => i.message).join("; ")}
    </span>
  );
}

export function BulkMessageScreen() {
  const db = useDb();
  const qc = useQueryClient();
  const toDefinition = useToDefinition();
  const [name, setName] = useState("");
  const [channel, setChannel] = useState<Channel>("email");
  const [useTemplate, setUseTemplate] = useState(false);
  const [templateId, setTemplateId] = useState("");
  const [subject, setSubject] = useState("");
  const [text, setText] = useState("");
  const [html, setHtml] = useState("");
  const [title, setTitle] = useState("");
  const [audienceKind, setAudienceKind] = useState<"segment" | "builder">("segment");
  const [segmentId, setSegmentId] = useState("");
  const [query, setQuery] = useState<RuleGroupType>(emptyQuery);
  const [scheduledAt, setScheduledAt] = useState("");
  const [throttle, setThrottle] = useState("");
  const [previewFor, setPreviewFor] = useState("");
  const [idempotencyKey, setIdempotencyKey] = useState(() => crypto.randomUUID());
  const [campaignId, setCampaignId] = useState<string | null>(null);
  const [builderErrors, setBuilderErrors] = useState<SegmentError[]>([]);

  const templates = useQuery({
    queryKey: ["templates"],
    queryFn: async () => must(await db.from("message_templates").select("id,channel,name,subject,body_text").order("name")),
  });
  const segments = useQuery({
    queryKey: ["segments", "options"],
    queryFn: async () => must(await db.from("customer_segments").select("id,name,definition,last_count").order("name")),
  });

  const audienceDefinition: Definition | null = useMemo(() => {
    if (audienceKind === "segment") return (segments.data?.find((s) => s.id === segmentId)?.definition as unknown as Definition) ?? null;
    return toDefinition && query.rules.length ? toDefinition(query) : null;
  }, [audienceKind, segmentId, segments.data, query, toDefinition]);

  // Audience size and the first customers (one of them for the preview), as the database sees it.
  const audience = useQuery({
    queryKey: ["audience", audienceDefinition],
    enabled: !!audienceDefinition,
    queryFn: async () => {
      try {
        const r = must(await db.rpc("evaluate_segment", { definition: audienceDefinition as never, page_size: 20 })) as unknown as {
          total: number;
          members: { customer_id: string; full_name: string | null; email: string | null }[];
        };
        setBuilderErrors([]);
        return r;
      } catch (e) {
        if (e instanceof ApiError && e.code === "22023") setBuilderErrors(errorsFromDetail(e.details, e.message));
        throw e;
      }
    },
  });

  const content = (): Record<string, string> =>
    channel === "email" ? { subject, text, ...(html.trim() ? { html } : {}) } : channel === "push" ? { ...(title ? { title } : {}), text } : { text };

  const preview = useMutation({
    mutationFn: async () =>
      invoke<Preview>(db, "message-preview", {
        body: { customer_id: previewFor || audience.data?.members[0]?.customer_id, channel, ...(useTemplate ? { template_id: templateId } : { content: content() }) },
      }),
  });

  const send = useMutation({
    mutationFn: async () => {
      const body: Record<string, unknown> = {
        name,
        channel,
        ...(useTemplate ? { template_id: templateId } : { content: content() }),
        audience: audienceKind === "segment" ? { segment_id: segmentId } : { definition: audienceDefinition ?? { version: 1, combinator: "and", rules: [] } },
      };
      if (scheduledAt) body.scheduled_at = new Date(scheduledAt).toISOString();
      if (throttle) body.throttle_per_minute = Number(throttle);
      return invoke<SendResult>(db, "bulk-message", { body, headers: { "Idempotency-Key": idempotencyKey } });
    },
    onSuccess: (r) => {
      setCampaignId(r.campaign_id);
      setIdempotencyKey(crypto.randomUUID());
      qc.invalidateQueries({ queryKey: ["campaign_stats"] });
    },
  });
  const issues = [...issuesOf(send.error), ...issuesOf(preview.error)];
  const channelTemplates = (templates.data ?? []).filter((t) => t.channel === channel);

  return (
    <section aria-labelledby="bulk-h">
      <h1 id="bulk-h">Bulk message</h1>
      <Form className="bulk" label="Bulk message" onSubmit={() => send.mutate()}>
        <fieldset>
          <legend>Message</legend>
          <label className="block">
            Campaign name <input value={name} onChange={(e) => setName(e.target.value)} required aria-describedby="err-name" />
            <FieldError issues={issues} path="name" id="err-name" />
          </label>
          <label>
            Channel{" "}
            <select aria-label="Channel" value={channel} onChange={(e) => setChannel(e.target.value as Channel)}>
              <option value="email">email</option>
              <option value="sms">sms</option>
              <option value="push">push</option>
            </select>
          </label>
          <div role="radiogroup" aria-label="Message source" className="row">
            <label>
              <input type="radio" name="source" checked={!useTemplate} onChange={() => setUseTemplate(false)} /> Write content
            </label>
            <label>
              <input type="radio" name="source" checked={useTemplate} onChange={() => setUseTemplate(true)} /> Use a template
            </label>
          </div>
          {useTemplate ? (
            <label className="block">
              Template{" "}
              <select aria-label="Template" value={templateId} onChange={(e) => setTemplateId(e.target.value)} required aria-describedby="err-template">
                <option value="">(choose)</option>
                {channelTemplates.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
              <FieldError issues={issues} path="template_id" id="err-template" />
            </label>
          ) : (
            <>
              {channel === "email" && (
                <label className="block">
                  Subject <input value={subject} onChange={(e) => setSubject(e.target.value)} aria-describedby="err-subject" />
                  <FieldError issues={issues} path="content.subject" id="err-subject" />
                </label>
              )}
              {channel === "push" && (
                <label className="block">
                  Title <input value={title} onChange={(e) => setTitle(e.target.value)} />
                </label>
              )}
              <label className="block">
                Text <textarea value={text} onChange={(e) => setText(e.target.value)} rows={4} aria-describedby="err-text" />
                <FieldError issues={issues} path="content.text" id="err-text" />
              </label>
              {channel === "email" && (
                <label className="block">
                  HTML (optional) <textarea value={html} onChange={(e) => setHtml(e.target.value)} rows={3} />
                </label>
              )}
              <p className="muted small">Variables: {"{{first_name}} {{full_name}} {{city}} {{unsubscribe_url}}"} …</p>
            </>
          )}
        </fieldset>

        <fieldset>
          <legend>Audience</legend>
          <div role="radiogroup" aria-label="Audience from" className="row">
            <label>
              <input type="radio" name="aud" checked={audienceKind === "segment"} onChange={() => setAudienceKind("segment")} /> A saved segment
            </label>
            <label>
              <input type="radio" name="aud" checked={audienceKind === "builder"} onChange={() => setAudienceKind("builder")} /> Build conditions
            </label>
          </div>
          {audienceKind === "segment" ? (
            <label className="block">
              Segment{" "}
              <select aria-label="Segment" value={segmentId} onChange={(e) => setSegmentId(e.target.value)} required aria-describedby="err-audience">
                <option value="">(choose)</option>
                {segments.data?.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <SegmentBuilder query={query} onChange={setQuery} errors={builderErrors} label="Audience conditions" />
          )}
          <FieldError issues={issues} path="audience" id="err-audience" />
          <p aria-live="polite" data-testid="audience-count">
            {audience.data ? `${audience.data.total} customers in the audience (consent and suppressions are checked when sending)` : audienceDefinition ? "Counting…" : ""}
          </p>
          {audience.error && !builderErrors.length && <ErrorBox error={audience.error} />}
        </fieldset>

        <fieldset>
          <legend>Preview for one customer</legend>
          <div className="row">
            <label>
              Customer{" "}
              <select aria-label="Preview customer" value={previewFor} onChange={(e) => setPreviewFor(e.target.value)}>
                <option value="">(first in the audience)</option>
                {audience.data?.members.map((m) => (
                  <option key={m.customer_id} value={m.customer_id}>
                    {m.full_name} {m.email ? `<${m.email}>` : ""}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" onClick={() => preview.mutate()} disabled={preview.isPending || !audience.data?.members.length}>
              Preview
            </button>
          </div>
          <ErrorBox error={preview.error} />
          {preview.data && (
            <div className="preview" data-testid="message-preview" aria-label="Rendered preview">
              {preview.data.subject && (
                <p>
                  <strong>Subject:</strong> {preview.data.subject}
                </p>
              )}
              {preview.data.title && (
                <p>
                  <strong>Title:</strong> {preview.data.title}
                </p>
              )}
              <pre>{preview.data.text}</pre>
            </div>
          )}
        </fieldset>

        <fieldset>
          <legend>Schedule and throttle</legend>
          <div className="row">
            <label>
              Send at (empty: now) <input type="datetime-local" value={scheduledAt} onChange={(e) => setScheduledAt(e.target.value)} aria-describedby="err-sched" />
            </label>
            <FieldError issues={issues} path="scheduled_at" id="err-sched" />
            <label>
              At most per minute <input type="number" min={1} value={throttle} onChange={(e) => setThrottle(e.target.value)} aria-describedby="err-throttle" />
            </label>
            <FieldError issues={issues} path="throttle_per_minute" id="err-throttle" />
          </div>
        </fieldset>
        {send.error && <ErrorBox error={send.error} />}
        <button type="submit" className="primary" disabled={send.isPending}>
          {send.isPending ? "Sending…" : scheduledAt ? "Schedule campaign" : "Send campaign"}
        </button>
      </Form>

      {send.data && (
        <p role="status" className="ok-box" data-testid="send-result">
          Campaign queued: {send.data.queued} of {send.data.audience_count} queued; skipped {send.data.skipped.no_consent} without consent,{" "}
          {send.data.skipped.suppressed} suppressed, {send.data.skipped.no_address} without address.
        </p>
      )}
      <CampaignStats selected={campaignId} onSelect={setCampaignId} />
    </section>
  );
}

interface Stats {
  campaign_id: string;
  name: string;
  channel: string;
  status: string;
  created_at: string;
  audience: number;
  queued: number;
  sent: number;
  delivered: number;
  unique_opens: number;
  unique_clicks: number;
  failed: number;
  bounces: number;
  unsubscribes: number;
}

export function CampaignStats(props: { selected: string | null; onSelect: (id: string) => void }) {
  const db = useDb();
  const list = useQuery({
    queryKey: ["campaign_stats"],
    refetchInterval: 3000,
    queryFn: async () =>
      must(
        await db
          .from("campaign_stats")
          .select("campaign_id,name,channel,status,created_at,audience,queued,sent,delivered,unique_opens,unique_clicks,failed,bounces,unsubscribes")
          .order("created_at", { ascending: false })
          .limit(20),
      ) as unknown as Stats[],
  });
  const current = list.data?.find((c) => c.campaign_id === props.selected) ?? list.data?.[0];
  return (
    <section aria-labelledby="stats-h" className="panel" data-testid="campaign-stats">
      <h2 id="stats-h">Campaign stats</h2>
      <ErrorBox error={list.error} />
      <label>
        Campaign{" "}
        <select aria-label="Campaign" value={current?.campaign_id ?? ""} onChange={(e) => props.onSelect(e.target.value)}>
          {list.data?.map((c) => (
            <option key={c.campaign_id} value={c.campaign_id}>
              {c.name} ({c.channel}, {fmtDateTime(c.created_at)})
            </option>
          ))}
        </select>
      </label>
      {current && <StatsChart stats={current} />}
    </section>
  );
}

function StatsChart(props: { stats: Stats }) {
  const s = props.stats;
  const bars = [
    { label: "Audience", value: s.audience },
    { label: "Sent", value: s.sent },
    { label: "Delivered", value: s.delivered },
    { label: "Opens", value: s.unique_opens },
    { label: "Clicks", value: s.unique_clicks },
    { label: "Failed", value: s.failed },
  ];
  const max = Math.max(1, ...bars.map((b) => b.value));
  const w = 520;
  const barH = 26;
  return (
    <figure>
      <svg role="img" aria-labelledby="chart-title chart-desc" width={w} height={bars.length * (barH + 8) + 10} className="chart">
        <title id="chart-title">{`${s.name}: ${s.status}`}</title>
        <desc id="chart-desc">{bars.map((b) => `${b.label} ${b.value}`).join(", ")}</desc>
        {bars.map((b, i) => {
          const y = i * (barH + 8) + 4;
          const len = Math.round(((w - 200) * b.value) / max);
          return (
            <g key={b.label}>
              <text x={0} y={y + barH * 0.7} className="chart-label">
                {b.label}
              </text>
              <rect x={100} y={y} width={Math.max(len, 2)} height={barH} className={`bar bar-${b.label.toLowerCase()}`} rx={3} />
              <text x={108 + len} y={y + barH * 0.7} className="chart-value" data-testid={`stat-${b.label.toLowerCase()}`}>
                {b.value}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption className="muted small">
        {s.name} · {s.channel} · status {s.status} · queued {s.queued} · bounces {s.bounces} · unsubscribes {s.unsubscribes}
      </figcaption>
    </figure>
  );
}
