// The segment builder: react-querybuilder over the database's whitelist; the database's validation
// errors are shown on the rule (or group) their path names.
import { createContext, useContext, useMemo } from "react";
import { useQuery } from "@tanstack/react-query";
import { QueryBuilder, Rule, RuleGroup, type RuleGroupProps, type RuleGroupType, type RuleProps } from "react-querybuilder";
import { must } from "../api.ts";
import { useDb } from "../session.tsx";
import { builderFields, errorTarget, inputTypeFor, toDefinition, type Definition, type Kind, type SegmentError, type WhitelistEntry } from "../segments.ts";

const ErrorsContext = createContext<Map<string, SegmentError[]>>(new Map());

function RuleWithErrors(props: RuleProps) {
  const errors = useContext(ErrorsContext).get(props.path.join(".")) ?? [];
  const id = `rule-error-${props.id ?? props.path.join("-")}`;
  return (
    <div className={errors.length ? "rule-wrap invalid" : "rule-wrap"} data-rule-path={props.path.join(".")} aria-describedby={errors.length ? id : undefined}>
      <Rule {...props} />
      {errors.length > 0 && (
        <p className="field-error" role="alert" id={id} data-testid="rule-error">
          {errors.map((e) => e.message).join("; ")}
        </p>
      )}
    </div>
  );
}

function GroupWithErrors(props: RuleGroupProps) {
  const all = useContext(ErrorsContext);
  // Errors naming the group itself (e.g. an empty group), not one of its rules.
  const key = props.path.join(".");
  const errors = all.get(key) ?? [];
  return (
    <div className={errors.length ? "group-wrap invalid" : "group-wrap"}>
      <RuleGroup {...props} />
      {errors.length > 0 && (
        <p className="field-error" role="alert" data-testid="group-error">
          {errors.map((e) => e.message).join("; ")}
        </p>
      )}
    </div>
  );
}

export function useWhitelist() {
  const db = useDb();
  return useQuery({
    queryKey: ["segment_whitelist"],
    staleTime: Infinity,
    queryFn: async () => must(await db.rpc("segment_whitelist")) as unknown as WhitelistEntry[],
  });
}

export function useBuilderOptions() {
  const db = useDb();
  const tags = useQuery({
    queryKey: ["tags", "all"],
    queryFn: async () => must(await db.from("customer_tags").select("id,name,color").order("name")),
  });
  const categories = useQuery({
    queryKey: ["equipment_categories"],
    staleTime: 5 * 60_000,
    queryFn: async () => must(await db.from("equipment_categories").select("slug,name").order("name")),
  });
  return { tags, categories };
}

// Converts with the whitelist's kinds (the caller needs the definition for API calls).
export function useToDefinition(): ((q: RuleGroupType) => Definition) | null {
  const whitelist = useWhitelist();
  return useMemo(() => {
    if (!whitelist.data) return null;
    const kinds = new Map<string, Kind>(whitelist.data.map((w) => [w.field, w.kind]));
    return (q: RuleGroupType) => toDefinition(q, kinds);
  }, [whitelist.data]);
}

export function SegmentBuilder(props: {
  query: RuleGroupType;
  onChange: (q: RuleGroupType) => void;
  errors: SegmentError[];
  label?: string;
}) {
  const whitelist = useWhitelist();
  const { tags, categories } = useBuilderOptions();
  const fields = useMemo(
    () =>
      whitelist.data
        ? builderFields(whitelist.data, {
            tag: (tags.data ?? []).map((t) => ({ name: t.id, value: t.id, label: t.name })),
            equipment_category: (categories.data ?? []).map((c) => ({ name: c.slug, value: c.slug, label: c.name })),
          })
        : [],
    [whitelist.data, tags.data, categories.data],
  );
  const kinds = useMemo(() => new Map<string, Kind>((whitelist.data ?? []).map((w) => [w.field, w.kind])), [whitelist.data]);
  const byTarget = useMemo(() => {
    const m = new Map<string, SegmentError[]>();
    for (const e of props.errors) {
      const k = errorTarget(e.path);
      m.set(k, [...(m.get(k) ?? []), e]);
    }
    return m;
  }, [props.errors]);

  if (whitelist.error) return <p role="alert" className="error">Could not load the segment fields: {String(whitelist.error.message)}</p>;
  if (!whitelist.data) return <p aria-busy="true">Loading the segment fields…</p>;
  // Errors on the top group ("" path) are shown by GroupWithErrors at the root.
  return (
    <section className="segment-builder" aria-label={props.label ?? "Segment conditions"}>
      <ErrorsContext.Provider value={byTarget}>
        <QueryBuilder
          fields={fields}
          query={props.query}
          onQueryChange={props.onChange}
          listsAsArrays
          showNotToggle
          resetOnFieldChange
          getInputType={(field, operator) => inputTypeFor(kinds.get(field), operator)}
          controlElements={{ rule: RuleWithErrors, ruleGroup: GroupWithErrors }}
          controlClassnames={{ queryBuilder: "qb" }}
          translations={{ addRule: { label: "+ Condition", title: "Add a condition" }, addGroup: { label: "+ Group", title: "Add a group (AND/OR)" } }}
        />
      </ErrorsContext.Provider>
    </section>
  );
}
