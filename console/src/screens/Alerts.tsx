// Alerts: newest first, open ones by default; acknowledge with acknowledge_alert.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { must } from "../api.ts";
import { useDb } from "../session.tsx";
import { DataTable, ErrorBox, fmtDateTime } from "../components/ui.tsx";

export function AlertsScreen() {
  const db = useDb();
  const qc = useQueryClient();
  const [showAll, setShowAll] = useState(false);
  const alerts = useQuery({
    queryKey: ["alerts", showAll],
    queryFn: async () => {
      let q = db
        .from("alerts")
        .select("id,kind,severity,title,body,created_at,acknowledged_at,customer:users!customer_id(full_name)")
        .order("created_at", { ascending: false })
        .limit(200);
      if (!showAll) q = q.is("acknowledged_at", null);
      return must(await q);
    },
  });
  const ack = useMutation({
    mutationFn: async (id: string) => must(await db.rpc("acknowledge_alert", { alert_id: id })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["alerts"] }),
  });
  return (
    <section aria-labelledby="alerts-h">
      <div className="screen-head">
        <h1 id="alerts-h">Alerts</h1>
        <label>
          <input type="checkbox" checked={showAll} onChange={(e) => setShowAll(e.target.checked)} /> Show acknowledged
        </label>
      </div>
      <ErrorBox error={alerts.error ?? ack.error} />
      <DataTable label="Alerts" columns={["Severity", "Alert", "Customer", "Raised", "Status"]} rows={alerts.data} empty={`No ${showAll ? "" : "open "}alerts.`}>
        {(a) => (
          <tr key={a.id} data-testid="alert-row">
            <td>
              <span className={`badge sev-${a.severity}`}>{a.severity}</span>
            </td>
            <td>
              <strong>{a.title}</strong>
              <div className="muted small">
                {a.kind}
                {a.body ? ` · ${a.body}` : ""}
              </div>
            </td>
            <td>{(a.customer as { full_name: string | null } | null)?.full_name ?? "—"}</td>
            <td>{fmtDateTime(a.created_at)}</td>
            <td>
              {a.acknowledged_at ? (
                `acknowledged ${fmtDateTime(a.acknowledged_at)}`
              ) : (
                <button type="button" onClick={() => ack.mutate(a.id)} disabled={ack.isPending}>
                  Acknowledge <span className="sr-only">{a.title}</span>
                </button>
              )}
            </td>
          </tr>
        )}
      </DataTable>
    </section>
  );
}
