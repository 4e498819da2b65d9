// Communications: the customer's messages (campaign_recipients) with their statuses and provider
// events, and the consent panel with history. Disabling a channel asks twice; a customer's own
// opt-out is shown with who and when, and re-consent needs the override with a note.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, must, newestOf } from "../api.ts";
import { useDb } from "../session.tsx";
import { DataTable, ErrorBox, fmtDateTime, Form, Modal } from "../components/ui.tsx";

const CHANNELS = ["email", "sms", "push"] as const;
type Channel = (typeof CHANNELS)[number];
// Sources meaning "the customer said so" (display only: the database enforces the rule and its
// refusal opens the override form whatever this list says).
const CUSTOMERS_OWN = new Set(["self_service", "sendgrid", "twilio_inbound", "twilio_status"]);

export function CommunicationsTab(props: { customerId: string; name: string }) {
  return (
    <div className="comms">
      <ConsentPanel customerId={props.customerId} name={props.name} />
      <Messages customerId={props.customerId} />
    </div>
  );
}

function Messages(props: { customerId: string }) {
  const db = useDb();
  const msgs = useQuery({
    queryKey: ["messages", props.customerId],
    queryFn: async () => {
      const recipients = must(
        await newestOf(
          db.from("campaign_recipients").select("id,campaign_id,channel,address,status,queued_at,sent_at,delivered_at,failed_at,last_error,created_at"),
          props.customerId,
          "created_at",
          50,
        ),
      );
      const events = must(await newestOf(db.from("message_events").select("id,recipient_id,event,occurred_at,url,reason,provider"), props.customerId, "occurred_at", 200));
      // campaign_recipients has no foreign key to embed campaigns through: look the names up.
      const ids = [...new Set(recipients.map((r) => r.campaign_id))];
      const campaigns = ids.length ? must(await db.from("campaigns").select("id,name").in("id", ids)) : [];
      const names = new Map(campaigns.map((c) => [c.id, c.name]));
      return { recipients: recipients.map((r) => ({ ...r, campaign: names.get(r.campaign_id) ?? null })), events };
    },
  });
  return (
    <section aria-labelledby="msgs-h">
      <h3 id="msgs-h">Messages</h3>
      <ErrorBox error={msgs.error} />
      <DataTable labelledBy="msgs-h" columns={["Campaign", "Channel", "To", "Status", "Events"]} rows={msgs.data?.recipients} empty="No messages yet.">
        {(r) => (
          <tr key={r.id} data-testid="message-row">
            <td>
              {r.campaign ?? "—"}
              <div className="muted small">{fmtDateTime(r.created_at)}</div>
            </td>
            <td>{r.channel}</td>
            <td className="small">{r.address ?? "—"}</td>
            <td>
              <span className={`badge st-${r.status}`}>{r.status}</span>
              {r.last_error && <div className="small error-text">{r.last_error}</div>}
            </td>
            <td className="small">
              {msgs.data!.events
                .filter((e) => e.recipient_id === r.id)
                .map((e) => (
                  <div key={e.id}>
                    {e.event} · {fmtDateTime(e.occurred_at)}
                    {e.url ? ` · ${e.url}` : ""}
                    {e.reason ? ` · ${e.reason}` : ""}
                  </div>
                ))}
            </td>
          </tr>
        )}
      </DataTable>
    </section>
  );
}

type Pending =
  | { kind: "disable"; channel: Channel; step: 1 | 2 }
  | { kind: "override"; channel: Channel; reason: string };

function ConsentPanel(props: { customerId: string; name: string }) {
  const db = useDb();
  const qc = useQueryClient();
  const [pending, setPending] = useState<Pending | null>(null);
  const [note, setNote] = useState("");
  const consent = useQuery({
    queryKey: ["consent", props.customerId],
    queryFn: async () => {
      const current = must(await db.from("customer_consent").select("channel,enabled,source,note,granted_at,revoked_at,updated_at").eq("customer_id", props.customerId));
      const history = must(
        await newestOf(db.from("customer_consent_history").select("id,channel,old_enabled,new_enabled,source,note,changed_at,changed_by"), props.customerId, "changed_at", 50),
      );
      // changed_by has no foreign key to embed through: look the names up.
      const ids = [...new Set(history.map((h) => h.changed_by).filter((x): x is string => !!x))];
      const people = ids.length ? must(await db.from("users").select("id,full_name,email").in("id", ids)) : [];
      const names = new Map(people.map((p) => [p.id, p.full_name ?? p.email ?? p.id]));
      return {
        current: new Map(current.map((c) => [c.channel, c])),
        history: history.map((h) => ({ ...h, changer: h.changed_by ? (names.get(h.changed_by) ?? h.changed_by) : null })),
      };
    },
  });
  const set = useMutation({
    mutationFn: async (v: { channel: Channel; enabled: boolean; note?: string; override?: boolean }) =>
      must(
        await db.rpc("set_customer_consent", {
          customer_id: props.customerId,
          channel: v.channel,
          enabled: v.enabled,
          source: "admin",
          note: v.note || undefined,
          override_opt_out: v.override ?? false,
        }),
      ),
    onSuccess: () => {
      setPending(null);
      setNote("");
      for (const k of [["consent", props.customerId], ["summary", props.customerId], ["timeline", props.customerId], ["customers"]]) qc.invalidateQueries({ queryKey: k });
    },
    onError: (err, v) => {
      // The customer's own opt-out takes precedence: the database refuses and names the rule.
      if (err instanceof ApiError && (err.code === "PT409" || err.code === "55000" || err.status === 409) && v.enabled && !v.override) {
        setPending({ kind: "override", channel: v.channel, reason: err.message });
      }
    },
  });

  const lastChange = (ch: Channel) => consent.data?.history.find((h) => h.channel === ch);

  return (
    <section aria-labelledby="consent-h" className="consent-panel">
      <h3 id="consent-h">Consent</h3>
      <ErrorBox error={consent.error} />
      {set.error && !pending && <ErrorBox error={set.error} />}
      <ul className="consent-list">
        {CHANNELS.map((ch) => {
          const row = consent.data?.current.get(ch);
          const enabled = row?.enabled ?? false;
          const own = !enabled && row && CUSTOMERS_OWN.has(row.source ?? "");
          const last = lastChange(ch);
          return (
            <li key={ch} data-testid={`consent-${ch}`}>
              <button
                type="button"
                role="switch"
                aria-checked={enabled}
                aria-label={`${ch} consent`}
                className={enabled ? "switch on" : "switch off"}
                disabled={!consent.data || set.isPending}
                onClick={() => {
                  set.reset();
                  if (enabled) setPending({ kind: "disable", channel: ch, step: 1 });
                  else if (own) setPending({ kind: "override", channel: ch, reason: `${props.name} opted out of ${ch} themselves.` });
                  else set.mutate({ channel: ch, enabled: true });
                }}
              >
                <span className="knob" aria-hidden="true" />
              </button>
              <span className="ch">{ch}</span>
              <span className="muted small">
                {row ? `${enabled ? "given" : "withdrawn"} · ${row.source ?? "?"} · ${fmtDateTime(row.updated_at)}` : "never given"}
              </span>
              {own && (
                <span className="small warn" data-testid={`own-optout-${ch}`}>
                  Opted out by the customer ({row?.source}) on {fmtDateTime(row?.revoked_at ?? row?.updated_at)}
                  {last?.changer ? `, recorded as ${last.changer}` : ", no staff member involved"}
                </span>
              )}
            </li>
          );
        })}
      </ul>
      <details>
        <summary>Consent history ({consent.data?.history.length ?? 0})</summary>
        <DataTable className="grid small" label="Consent history" columns={["When", "Channel", "Change", "Source", "By", "Note"]} rows={consent.data?.history}>
          {(h) => (
            <tr key={h.id}>
              <td>{fmtDateTime(h.changed_at)}</td>
              <td>{h.channel}</td>
              <td>
                {h.old_enabled === null ? "—" : h.old_enabled ? "on" : "off"} → {h.new_enabled ? "on" : "off"}
              </td>
              <td>{h.source}</td>
              <td>{h.changer ?? "customer / system"}</td>
              <td>{h.note ?? ""}</td>
            </tr>
          )}
        </DataTable>
      </details>

      {pending?.kind === "disable" && (
        <Modal title={pending.step === 1 ? `Disable ${pending.channel} contact?` : `Really stop all ${pending.channel}?`} onClose={() => setPending(null)} testId="consent-confirm">
          {pending.step === 1 ? (
            <>
              <p>
                {props.name} will get no {pending.channel} messages from any campaign until consent is given again.
              </p>
              <label className="block">
                Note (optional)
                <input value={note} onChange={(e) => setNote(e.target.value)} />
              </label>
              <div className="row">
                <button type="button" onClick={() => setPending({ ...pending, step: 2 })} className="danger">
                  Continue
                </button>
                <button type="button" onClick={() => setPending(null)}>
                  Cancel
                </button>
              </div>
            </>
          ) : (
            <>
              <p>Second confirmation: this takes effect immediately and is recorded in the consent history and the timeline.</p>
              <div className="row">
                <button type="button" className="danger" disabled={set.isPending} onClick={() => set.mutate({ channel: pending.channel, enabled: false, note })}>
                  Yes, disable {pending.channel}
                </button>
                <button type="button" onClick={() => setPending(null)}>
                  Keep {pending.channel}
                </button>
              </div>
              <ErrorBox error={set.error} />
            </>
          )}
        </Modal>
      )}
      {pending?.kind === "override" && (
        <Modal title={`Re-consent ${pending.channel} with override`} onClose={() => setPending(null)} testId="consent-override">
          <p className="warn">{pending.reason}</p>
          <p>Re-consent on their behalf only with a note saying why (e.g. the customer asked on the phone). It is audited.</p>
          <Form onSubmit={() => set.mutate({ channel: pending.channel, enabled: true, note, override: true })}>
            <label className="block">
              Note (required)
              <textarea value={note} onChange={(e) => setNote(e.target.value)} required rows={3} />
            </label>
            <div className="row">
              <button type="submit" className="danger" disabled={set.isPending}>
                Override the opt-out
              </button>
              <button type="button" onClick={() => setPending(null)}>
                Cancel
              </button>
            </div>
            <ErrorBox error={set.error} />
          </Form>
        </Modal>
      )}
    </section>
  );
}
