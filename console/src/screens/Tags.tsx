// Tags: search, create with a colour, see how many customers carry each; delete. Assigning and
// removing happens on the customer (chips in the drawer).
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { must } from "../api.ts";
import { useDb } from "../session.tsx";
import { DataTable, ErrorBox, fmtDate, Form, TagChip } from "../components/ui.tsx";

export function TagsScreen() {
  const db = useDb();
  const qc = useQueryClient();
  const [search, setSearch] = useState("");
  const [name, setName] = useState("");
  const [color, setColor] = useState("#2563eb");
  const [description, setDescription] = useState("");
  const tags = useQuery({
    queryKey: ["tags", "screen", search],
    queryFn: async () => {
      let q = db.from("customer_tags").select("id,name,color,description,created_at,customer_tag_members(count)").order("name").limit(200);
      if (search.trim()) q = q.ilike("name", `%${search.trim().replace(/[%_\\]/g, (c) => "\\" + c)}%`);
      return must(await q);
    },
  });
  const create = useMutation({
    mutationFn: async () => must(await db.from("customer_tags").insert({ name: name.trim(), color, description: description.trim() || null }).select("id").single()),
    onSuccess: () => {
      setName("");
      setDescription("");
      qc.invalidateQueries({ queryKey: ["tags"] });
    },
  });
  const remove = useMutation({
    mutationFn: async (id: string) => must(await db.from("customer_tags").delete().eq("id", id)),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["tags"] }),
  });

  return (
    <section aria-labelledby="tags-h">
      <h1 id="tags-h">Tags</h1>
      <Form className="panel row wrap" label="New tag" onSubmit={() => create.mutate()}>
        <label>
          Name <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={60} aria-invalid={!!create.error} aria-describedby="tag-create-error" />
        </label>
        <label>
          Colour <input type="color" value={color} onChange={(e) => setColor(e.target.value)} />
        </label>
        <label>
          Description <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <TagChip tag={{ id: "preview", name: name || "preview", color }} />
        <button type="submit" className="primary" disabled={create.isPending}>
          Create tag
        </button>
        <ErrorBox error={create.error} id="tag-create-error" />
      </Form>
      <label className="block">
        Search tags <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
      </label>
      <ErrorBox error={tags.error ?? remove.error} />
      <DataTable
        label="Tags"
        columns={["Tag", "Description", { label: "Customers", className: "num" }, "Created", { label: "Actions", srOnly: true }]}
        rows={tags.data}
      >
        {(t) => (
          <tr key={t.id}>
            <td>
              <TagChip tag={t} />
            </td>
            <td>{t.description ?? ""}</td>
            <td className="num">{(t.customer_tag_members as unknown as { count: number }[])[0]?.count ?? 0}</td>
            <td>{fmtDate(t.created_at)}</td>
            <td>
              <button
                type="button"
                className="danger"
                onClick={() => confirm(`Delete the tag ${t.name}? It is removed from every customer.`) && remove.mutate(t.id)}
              >
                Delete <span className="sr-only">{t.name}</span>
              </button>
            </td>
          </tr>
        )}
      </DataTable>
    </section>
  );
}
