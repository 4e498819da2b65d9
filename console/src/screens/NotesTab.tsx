// Notes: the customer's notes, newest first, and a form to add one with type and visibility.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { must, newestOf } from "../api.ts";
import { useDb } from "../session.tsx";
import { ErrorBox, fmtDateTime, Form } from "../components/ui.tsx";

export function NotesTab(props: { customerId: string }) {
  const db = useDb();
  const qc = useQueryClient();
  const [note, setNote] = useState("");
  const [type, setType] = useState("info");
  const [visibility, setVisibility] = useState("internal");
  const notes = useQuery({
    queryKey: ["notes", props.customerId],
    queryFn: async () =>
      must(await newestOf(db.from("customer_notes").select("id,note,type,visibility,created_at,author:users!admin_id(full_name,email)"), props.customerId, "created_at", 100)),
  });
  const create = useMutation({
    mutationFn: async () =>
      must(await db.from("customer_notes").insert({ customer_id: props.customerId, note, type, visibility }).select("id").single()),
    onSuccess: () => {
      setNote("");
      qc.invalidateQueries({ queryKey: ["notes", props.customerId] });
      qc.invalidateQueries({ queryKey: ["timeline", props.customerId] });
    },
  });

  return (
    <div>
      <Form className="panel" label="New note" onSubmit={() => create.mutate()}>
        <label className="block">
          Note
          <textarea value={note} onChange={(e) => setNote(e.target.value)} rows={3} required aria-invalid={!!create.error} aria-describedby={create.error ? "note-error" : undefined} />
        </label>
        <div className="row">
          <label>
            Type{" "}
            <select value={type} onChange={(e) => setType(e.target.value)}>
              <option value="info">info</option>
              <option value="warning">warning</option>
              <option value="action">action</option>
            </select>
          </label>
          <label>
            Visibility{" "}
            <select value={visibility} onChange={(e) => setVisibility(e.target.value)}>
              <option value="internal">internal (staff only)</option>
              <option value="shared">shared (the customer sees it)</option>
            </select>
          </label>
          <button type="submit" className="primary" disabled={create.isPending}>
            Add note
          </button>
        </div>
        <ErrorBox error={create.error} id="note-error" />
      </Form>
      <ErrorBox error={notes.error} />
      <ul className="notes" aria-label="Notes">
        {notes.data?.map((n) => (
          <li key={n.id} className={`note note-${n.type}`}>
            <div className="row small muted">
              <span className={`badge note-${n.type}`}>{n.type}</span>
              <span>{n.visibility}</span>
              <span>{fmtDateTime(n.created_at)}</span>
              <span>{(n.author as { full_name: string | null } | null)?.full_name ?? ""}</span>
            </div>
            <p>{n.note}</p>
          </li>
        ))}
        {notes.data?.length === 0 && <li className="muted">No notes yet.</li>}
      </ul>
    </div>
  );
}
