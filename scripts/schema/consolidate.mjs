#!/usr/bin/env node
// One-time tool: writes supabase/schemas/<feature>.sql, one file per feature, from a database
// built by applying every migration; with --squash, also replaces supabase/migrations/ by one
// migration per feature (the schema file's content), and updates schema_paths in config.toml.
// Then it proves the result: the schema files applied in order to an empty database give the same
// schema as the migrations (scripts/schema/drift-check.sh).
//
//   node scripts/schema/consolidate.mjs            # write supabase/schemas/ only
//   node scripts/schema/consolidate.mjs --squash   # ... and squash supabase/migrations/
//
// Which object belongs to which feature: scripts/schema/manifest.mjs. An object no feature
// names makes the run fail, listing it (with the migration that created it), before any file is
// written. See CONTRIBUTING.md.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import features, { ignore } from "./manifest.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PGBIN = process.env.PGBIN ?? "/usr/lib/postgresql/15/bin";
const DB_URL = process.env.DB_URL ?? `postgresql://postgres:postgres@127.0.0.1:${process.env.DB_PORT ?? 54322}/postgres`;
const SCRATCH = "crm_squash_source";
const SRC_URL = `${DB_URL.replace(/\/[^/]*$/, "")}/${SCRATCH}`;
const SCHEMAS_DIR = join(ROOT, "supabase", "schemas");
const MIGRATIONS_DIR = join(ROOT, "supabase", "migrations");
const squash = process.argv.includes("--squash");
const t0 = Date.now();
const log = (msg) => console.log(`consolidate: ${msg} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);

const run = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28, env: { ...process.env, PATH: `${ROOT}/node_modules/.bin:${process.env.PATH}` }, ...opts });
// search_path pg_catalog: regprocedure and regrole text come out schema-qualified
const query = (sql) => JSON.parse(run("psql", [SRC_URL, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
  { env: { ...process.env, PGOPTIONS: "-c search_path=pg_catalog" } }) || "null");

// 1. A database built from the migrations alone (no seed).
run("bash", [join(ROOT, "scripts/schema/scratch-db.sh"), SCRATCH]);
run("supabase", ["migration", "up", `--remote=${SRC_URL}`, "--yes"], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
log(`${readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith(".sql")).length} migrations applied to ${SCRATCH}`);

// 2. The catalog: a key per object, what each object depends on.
const catalog = query(`
with objs as (
  select 'pg_class'::regclass::oid as classid, c.oid as objid,
         case when c.relkind = 'i' then (select tn.nspname || '.' || t.relname || '/' || c.relname
                                           from pg_index i join pg_class t on t.oid = i.indrelid
                                           join pg_namespace tn on tn.oid = t.relnamespace where i.indexrelid = c.oid)
              -- a sequence owned by a column (serial, identity) goes with its table
              when c.relkind = 'S' then coalesce((select tn.nspname || '.' || t.relname || '/' || c.relname
                                                    from pg_depend d join pg_class t on t.oid = d.refobjid
                                                    join pg_namespace tn on tn.oid = t.relnamespace
                                                   where d.classid = 'pg_class'::regclass and d.objid = c.oid
                                                     and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
                                                   limit 1), n.nspname || '.' || c.relname)
              else n.nspname || '.' || c.relname end as key
    from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname in ('public', 'private')
  union all
  select 'pg_proc'::regclass, p.oid, n.nspname || '.' || p.proname
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname in ('public', 'private')
  union all
  select 'pg_type'::regclass, t.oid,
         coalesce((select rn.nspname || '.' || r.relname from pg_class r join pg_namespace rn on rn.oid = r.relnamespace where r.oid = t.typrelid),
                  (select en.nspname || '.' || e.typname from pg_type e join pg_namespace en on en.oid = e.typnamespace where e.oid = t.typelem and t.typcategory = 'A'),
                  n.nspname || '.' || t.typname)
    from pg_type t join pg_namespace n on n.oid = t.typnamespace where n.nspname in ('public', 'private')
${[["pg_constraint", "conrelid", "conname", "true"], ["pg_trigger", "tgrelid", "tgname", "not x.tgisinternal"],
     ["pg_policy", "polrelid", "polname", "true"]].map(([cat, rel, name, where]) => `
  union all
  select '${cat}'::regclass, x.oid, n.nspname || '.' || r.relname || '/' || x.${name}
    from ${cat} x join pg_class r on r.oid = x.${rel} join pg_namespace n on n.oid = r.relnamespace
   where n.nspname in ('public', 'private') and ${where}`).join("")}
  union all
  select 'pg_attrdef'::regclass, d.oid, n.nspname || '.' || r.relname || '/' || a.attname
    from pg_attrdef d join pg_class r on r.oid = d.adrelid join pg_namespace n on n.oid = r.relnamespace
    join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum where n.nspname in ('public', 'private')
  union all
  select 'pg_rewrite'::regclass, w.oid, n.nspname || '.' || r.relname
    from pg_rewrite w join pg_class r on r.oid = w.ev_class join pg_namespace n on n.oid = r.relnamespace
   where n.nspname in ('public', 'private')
)
select json_build_object(
  'keys', (select json_object_agg(o.classid || ':' || o.objid, o.key) from objs o),
  'deps', (select json_agg(distinct jsonb_build_array(a.key, b.key)) from pg_depend d
             join objs a on a.classid = d.classid and a.objid = d.objid
             join objs b on b.classid = d.refclassid and b.objid = d.refobjid
            where d.deptype = 'n' and a.key <> b.key),
  'acls', (select json_agg(json_build_object('key', x.key, 'kind', x.kind, 'target', x.target, 'acl', x.acl)) from (
             select (select o.key from objs o where o.classid = 'pg_class'::regclass and o.objid = c.oid) as key,
                    case c.relkind when 'S' then 'sequence' else 'table' end as kind,
                    format('%I.%I', n.nspname, c.relname) as target,
                    (select json_agg(json_build_object('grantee', e.grantee::regrole::text, 'priv', e.privilege_type, 'grantable', e.is_grantable))
                       from aclexplode(coalesce(c.relacl, acldefault((case c.relkind when 'S' then 's' else 'r' end)::"char", c.relowner))) e
                      where e.grantee <> c.relowner) as acl
               from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname in ('public', 'private') and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
             union all
             select n.nspname || '.' || p.proname, 'function', p.oid::regprocedure::text,
                    (select json_agg(json_build_object('grantee', case e.grantee when 0 then 'public' else e.grantee::regrole::text end,
                                                       'priv', e.privilege_type, 'grantable', e.is_grantable))
                       from aclexplode(coalesce(p.proacl, acldefault('f'::"char", p.proowner))) e where e.grantee <> p.proowner)
               from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname in ('public', 'private')
             union all
             select 'schema:' || n.nspname, 'schema', quote_ident(n.nspname),
                    (select json_agg(json_build_object('grantee', case e.grantee when 0 then 'public' else e.grantee::regrole::text end,
                                                       'priv', e.privilege_type, 'grantable', e.is_grantable))
                       from aclexplode(coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))) e where e.grantee <> n.nspowner)
               from pg_namespace n where n.nspname = 'private'
           ) x),
  'colacls', (select json_agg(json_build_object('key', o.key, 'target', format('%I.%I', n.nspname, c.relname), 'column', a.attname,
                                                'grantee', case e.grantee when 0 then 'public' else e.grantee::regrole::text end,
                                                'priv', e.privilege_type) order by a.attnum)
                 from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
                 join objs o on o.classid = 'pg_class'::regclass and o.objid = c.oid
                 cross join lateral aclexplode(a.attacl) e
                where n.nspname in ('public', 'private') and a.attacl is not null and e.grantee <> c.relowner),
  'cron', (select json_agg(json_build_object('name', j.jobname, 'schedule', j.schedule, 'command', j.command) order by j.jobname)
             from cron.job j)
)`);

// 3. The dump's table of contents, each entry with its object key.
const work = mkdtempSync(join(tmpdir(), "consolidate-"));
const dump = join(work, "schema.dump");
run(`${PGBIN}/pg_dump`, ["-Fc", "--schema-only", "-n", "public", "-n", "private", "-f", dump, SRC_URL]);
const DESCS = ["FK CONSTRAINT", "ROW SECURITY", "SEQUENCE OWNED BY", "SEQUENCE SET", "MATERIALIZED VIEW", "DEFAULT ACL",
  "TABLE", "VIEW", "SEQUENCE", "FUNCTION", "PROCEDURE", "AGGREGATE", "TYPE", "DOMAIN", "SCHEMA", "CONSTRAINT", "INDEX",
  "TRIGGER", "POLICY", "DEFAULT", "COMMENT", "ACL", "RULE", "EXTENSION"];
const entries = [];
for (const line of run(`${PGBIN}/pg_restore`, ["-l", dump]).split("\n")) {
  const m = /^(\d+); (\d+) (\d+) (.*)$/.exec(line);
  if (!m) continue;
  const [, , classid, objid, rest] = m;
  const desc = DESCS.find((d) => rest.startsWith(d + " "));
  if (!desc) throw new Error(`consolidate: unknown TOC entry: ${line}`);
  const words = rest.slice(desc.length + 1).split(" ");
  const nsp = words.shift();
  words.pop(); // owner
  const tag = words.join(" ");
  if (desc === "ACL" || desc === "DEFAULT ACL") continue; // grants are written from the catalog
  let key = classid !== "0" ? catalog.keys[`${classid}:${objid}`] : undefined;
  if (key) { /* from the catalog */ } else if (desc === "COMMENT") {
    const [kind, ...restTag] = tag.split(" ");
    const name = restTag.join(" ");
    if (kind === "SCHEMA") key = `schema:${name}`;
    else if (kind === "COLUMN") key = `${nsp}.${name.split(".")[0]}`;
    else if (kind === "FUNCTION" || kind === "PROCEDURE") key = `${nsp}.${name.replace(/\(.*$/, "")}`;
    else if (/ ON /.test(name)) { const [obj, , table] = name.split(" "); key = `${nsp}.${table}/${obj}`; }
    else key = `${nsp}.${name}`;
  } else if (desc === "SCHEMA") key = `schema:${tag}`;
  else if (["CONSTRAINT", "FK CONSTRAINT", "TRIGGER", "POLICY", "DEFAULT"].includes(desc)) {
    const [table, name] = tag.split(" ");
    key = `${nsp}.${table}/${name}`;
  } else if (desc === "ROW SECURITY") key = `${nsp}.${tag}`;
  else if (desc === "INDEX") key = catalog.keys[`${classid}:${objid}`];
  else if (desc === "FUNCTION" || desc === "PROCEDURE" || desc === "AGGREGATE") key = `${nsp}.${tag.replace(/\(.*$/, "")}`;
  else key = `${nsp}.${tag}`;
  if (!key) throw new Error(`consolidate: no catalog key for ${line}`);
  entries.push({ line, desc, key, dumpId: Number(m[1]) });
}

// 4. Assign features.
const globRe = (g) => new RegExp(`^${g.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^./]*")}$`);
const rules = features.flatMap((f, index) => (f.objects ?? []).map((g) => ({ g, index, re: globRe(g), exact: !g.includes("*") })));
const ignored = ignore.map(globRe);
function named(key) {
  const hits = rules.filter((r) => r.re.test(key));
  if (hits.length === 0) return undefined;
  const score = (r) => (r.exact ? 1e6 : r.g.length);
  hits.sort((a, b) => score(b) - score(a));
  if (hits.length > 1 && score(hits[0]) === score(hits[1]) && hits[0].index !== hits[1].index) {
    throw new Error(`consolidate: ${key} is named by ${features[hits[0].index].feature} (${hits[0].g}) and ${features[hits[1].index].feature} (${hits[1].g})`);
  }
  return hits[0].index;
}
const depsOf = new Map();
for (const [a, b] of catalog.deps ?? []) (depsOf.get(a) ?? depsOf.set(a, []).get(a)).push(b);
const featureOf = new Map();
const unassigned = [];
function assign(key) {
  if (featureOf.has(key)) return featureOf.get(key);
  featureOf.set(key, undefined); // guards against cycles
  let index = named(key);
  if (index === undefined && key.includes("/")) {
    // a dependent object: the latest of its table's feature and of what it references
    const parent = assign(key.split("/")[0]);
    if (parent !== undefined) {
      index = parent;
      for (const dep of depsOf.get(key) ?? []) {
        const d = assign(dep);
        if (d !== undefined && d > index) index = d;
      }
    }
  }
  featureOf.set(key, index);
  return index;
}
const kept = entries.filter((e) => !ignored.some((re) => re.test(e.key)));
for (const e of kept) {
  e.feature = assign(e.key);
  if (e.feature === undefined) unassigned.push(e);
}
if (unassigned.length) {
  const origin = (key) => {
    const name = key.split(/[./]/).pop();
    const hits = readdirSync(MIGRATIONS_DIR).filter((f) => readFileSync(join(MIGRATIONS_DIR, f), "utf8").includes(name));
    return hits.length ? `first in ${hits[0]}` : "";
  };
  console.error("consolidate: these objects belong to no feature; add them to scripts/schema/manifest.mjs:");
  for (const key of [...new Set(unassigned.map((e) => e.key))]) console.error(`  ${key}    ${origin(key)}`);
  process.exit(1);
}
// An object may only use what its own or an earlier feature defines.
const problems = [];
for (const e of kept) {
  for (const dep of depsOf.get(e.key) ?? []) {
    const d = featureOf.get(dep) ?? assign(dep);
    if (d !== undefined && d > e.feature) {
      problems.push(`  ${e.key} (${features[e.feature].feature}) uses ${dep} (${features[d].feature}, later)`);
    }
  }
}
if (problems.length) {
  console.error("consolidate: features out of order; move an object or reorder the features in the manifest:");
  console.error([...new Set(problems)].join("\n"));
  process.exit(1);
}
log(`${kept.length} dump entries assigned to ${features.length} features`);

// 5. Write each feature's file: types, tables (+ their rows), functions and views, triggers,
// row-level security and policies, grants, cron schedules.
const SECTIONS = [
  ["Types", ["SCHEMA", "TYPE", "DOMAIN"]],
  ["Tables, constraints and indexes", ["TABLE", "SEQUENCE", "SEQUENCE OWNED BY", "DEFAULT", "CONSTRAINT", "FK CONSTRAINT", "INDEX"]],
  ["Functions and views", ["FUNCTION", "PROCEDURE", "AGGREGATE", "VIEW", "MATERIALIZED VIEW", "RULE"]],
  ["Triggers", ["TRIGGER"]],
  ["Row-level security", ["ROW SECURITY", "POLICY"]],
];
const restore = (list) => {
  const listFile = join(work, "list.txt");
  writeFileSync(listFile, list.map((e) => e.line).join("\n") + "\n");
  return run(`${PGBIN}/pg_restore`, ["--no-owner", "--no-acl", "-L", listFile, "-f", "-", dump]);
};
const tidy = (text) => text
  .replace(/^--\n-- PostgreSQL database dump.*?\n--\n/s, "")
  .replace(/^-- (Dumped|PostgreSQL database dump complete).*\n/gm, "")
  .replace(/^SET [^\n]*;\n|^SELECT pg_catalog\.set_config\('search_path', '', false\);\n/gm, "")
  .replace(/^--\n-- Name: [^\n]*\n--\n/gm, "")
  .replace(/^\\(un)?restrict [^\n]*\n/gm, "")
  .replace(/^--\n--\n/gm, "")
  .replace(/\n{3,}/g, "\n\n")
  .trim();
// Reads like hand-written DDL: a table's keys, unique and check constraints, foreign keys to
// tables created before it, and identity columns go into its CREATE TABLE (pg_dump writes them as
// separate ALTER TABLE statements). A foreign key to a table created later stays an ALTER TABLE.
function foldIntoTables(text) {
  const stmts = text.split(/\n\n(?=\S)/);
  const createdAt = new Map();
  stmts.forEach((st, i) => { const m = /^CREATE TABLE (\S+) \(/.exec(st); if (m) createdAt.set(m[1], i); });
  const kept = [];
  stmts.forEach((st, i) => {
    const con = /^ALTER TABLE ONLY (\S+)\n    ADD CONSTRAINT (\S+ [\s\S]*);$/.exec(st);
    if (con && createdAt.has(con[1])) {
      const ref = /REFERENCES (\S+?)\(/.exec(con[2])?.[1];
      if (!ref || !createdAt.has(ref) || createdAt.get(ref) <= createdAt.get(con[1])) {
        const t = createdAt.get(con[1]);
        // a table with storage parameters ends in `) WITH (...)`: its constraints stay ALTER TABLEs
        if (/\n\);$/.test(stmts[t])) {
          stmts[t] = stmts[t].replace(/\n\);$/, `,\n    CONSTRAINT ${con[2]}\n);`);
          return;
        }
      }
    }
    const ident = /^ALTER TABLE (\S+) ALTER COLUMN (\S+) ADD GENERATED (ALWAYS|BY DEFAULT) AS IDENTITY \(\n    SEQUENCE NAME (\S+)\n    START WITH 1\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1\n\);$/.exec(st);
    if (ident && createdAt.has(ident[1]) && ident[4] === `${ident[1]}_${ident[2]}_seq`) {
      const t = createdAt.get(ident[1]);
      const col = new RegExp(`^(    ${ident[2]} [^\\n]*? NOT NULL)(,?)$`, "m");
      if (col.test(stmts[t])) {
        stmts[t] = stmts[t].replace(col, `$1 GENERATED ${ident[3]} AS IDENTITY$2`);
        return;
      }
    }
    kept.push(i);
  });
  return kept.map((i) => stmts[i]).join("\n\n");
}
const heading = (title) => `-- ${"-".repeat(96)}\n-- ${title}\n-- ${"-".repeat(96)}`;
const PRIV_ORDER = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "EXECUTE", "USAGE", "CREATE"];
const ALL_TABLE = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"];
// Grants as explicit revoke-then-grant, one statement per kind of object and set of privileges,
// from the catalog (not from pg_dump, whose ACL statements assume the built-in defaults).
function grants(keys, index) {
  const acls = (catalog.acls ?? []).filter((a) => keys.has(a.key) || (a.kind === "schema" && named(a.key) === index))
    .sort((a, b) => a.target.localeCompare(b.target));
  const out = [];
  for (const kind of ["schema", "table", "sequence", "function"]) {
    const mine = acls.filter((a) => a.kind === kind);
    if (!mine.length) continue;
    const list = (targets) => targets.length > 1 ? `\n  ${targets.join(",\n  ")}\n` : ` ${targets[0]} `;
    out.push(`revoke all on ${kind}${list(mine.map((a) => a.target))}from public, anon, authenticated, service_role;`);
    const statements = new Map(); // "privileges to grantees" -> targets
    for (const a of mine) {
      const byGrantee = new Map();
      for (const g of a.acl ?? []) {
        const k = `${g.grantee}|${g.grantable}`;
        (byGrantee.get(k) ?? byGrantee.set(k, []).get(k)).push(g.priv);
      }
      const byPrivs = new Map();
      for (const [k, privs] of byGrantee) {
        const [grantee, grantable] = k.split("|");
        privs.sort((x, y) => PRIV_ORDER.indexOf(x) - PRIV_ORDER.indexOf(y));
        const text = kind === "table" && ALL_TABLE.every((p) => privs.includes(p)) ? "all" : privs.join(", ").toLowerCase();
        const pk = `${text}|${grantable}`;
        (byPrivs.get(pk) ?? byPrivs.set(pk, []).get(pk)).push(/^[a-z_][a-z0-9_]*$/.test(grantee) ? grantee : `"${grantee}"`);
      }
      for (const [pk, grantees] of byPrivs) {
        const [text, grantable] = pk.split("|");
        const key = `${text}|${grantees.sort().join(", ")}|${grantable}`;
        (statements.get(key) ?? statements.set(key, []).get(key)).push(a.target);
      }
    }
    for (const [key, targets] of statements) {
      const [text, grantees, grantable] = key.split("|");
      out.push(`grant ${text} on ${kind}${list(targets)}to ${grantees}${grantable === "true" ? " with grant option" : ""};`);
    }
    if (kind === "table") {
      // column privileges: one statement per table, privilege and set of grantees
      const cols = new Map();
      for (const c of (catalog.colacls ?? []).filter((c) => mine.some((a) => a.key === c.key))) {
        const k = `${c.target}|${c.priv}|${c.column}`;
        (cols.get(k) ?? cols.set(k, []).get(k)).push(c.grantee);
      }
      const stmts = new Map();
      for (const [k, grantees] of cols) {
        const [target, priv, column] = k.split("|");
        const sk = `${target}|${priv}|${grantees.sort().join(", ")}`;
        (stmts.get(sk) ?? stmts.set(sk, []).get(sk)).push(column);
      }
      for (const [sk, columns] of stmts) {
        const [target, priv, grantees] = sk.split("|");
        out.push(`grant ${priv.toLowerCase()} (${columns.join(", ")}) on table ${target} to ${grantees};`);
      }
    }
  }
  return out.join("\n");
}
// A data table's rows as one idempotent insert; columns that default to now() are left to it, so
// the file does not carry the moment it was generated, and so are identity and generated columns
// (rows keep their identity order, so a fresh database numbers them the same).
function rows(table) {
  const [nsp, rel] = table.split(".");
  const identity = query(`select to_json(a.attname) from pg_attribute a
    where a.attrelid = '${nsp}.${rel}'::regclass and a.attidentity <> '' limit 1`);
  const data = query(`
    with cols as (
      select a.attname, a.attnum from pg_attribute a
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
       where a.attrelid = '${nsp}.${rel}'::regclass and a.attnum > 0 and not a.attisdropped
         and a.attidentity = '' and a.attgenerated = ''
         and coalesce(pg_get_expr(d.adbin, d.adrelid), '') not like '%now()%')
    select json_build_object(
      'cols', (select json_agg(attname order by attnum) from cols),
      'rows', (select json_agg(r.v order by r.k, r.v::text) from (
                 select (select json_agg(to_jsonb(t) ->> c.attname order by c.attnum) from cols c) as v,
                        ${identity ? `t.${identity}` : "null::int"} as k
                   from ${nsp}.${rel} t) r))`);
  if (!data.rows) return "";
  const lit = (v) => (v === null ? "null" : `'${v.replace(/'/g, "''")}'`);
  return `insert into ${nsp}.${rel} (${data.cols.join(", ")}) values\n` +
    data.rows.map((r) => `  (${r.map(lit).join(", ")})`).join(",\n") + "\non conflict do nothing;";
}
function cronSql() {
  const jobs = catalog.cron ?? [];
  const q = (s) => `'${s.replace(/'/g, "''")}'`;
  return [
    `select cron.unschedule(j.jobid) from cron.job j where j.jobname in (${jobs.map((j) => q(j.name)).join(", ")});`,
    ...jobs.map((j) => `select cron.schedule(${q(j.name)}, ${q(j.schedule)}, ${q(j.command)});`),
  ].join("\n");
}

const stamp = new Date().toISOString().slice(0, 10).replace(/-/g, "");
const files = [];
rmSync(SCHEMAS_DIR, { recursive: true, force: true });
mkdirSync(SCHEMAS_DIR, { recursive: true });
features.forEach((f, index) => {
  const mine = kept.filter((e) => e.feature === index);
  const keys = new Set(mine.map((e) => e.key));
  const parts = [
    [`-- ${f.title}`, "--", ...f.about.split("\n").map((l) => `-- ${l}`), "--",
      "-- The current definition of this feature: change it here, then add a migration (CONTRIBUTING.md)."].join("\n"),
    `set check_function_bodies = false; -- bodies may name objects of later features\nset search_path = '';              -- every name below is schema-qualified`,
  ];
  if (f.before) parts.push(f.before.trim());
  const comments = mine.filter((e) => e.desc === "COMMENT");
  const emitted = new Set();
  for (const [title, descs] of SECTIONS) {
    const list = [];
    for (const e of mine.filter((x) => descs.includes(x.desc))) {
      list.push(e);
      // an object's comments right after it
      for (const c of comments) if (c.key === e.key && !emitted.has(c)) { list.push(c); emitted.add(c); }
    }
    if (list.length === 0) continue;
    const text = tidy(restore(list));
    parts.push(heading(title), title.startsWith("Tables") ? foldIntoTables(text) : text);
    if (title.startsWith("Tables")) for (const t of f.data ?? []) parts.push(rows(t));
  }
  const left = comments.filter((c) => !emitted.has(c));
  if (left.length) parts.push(tidy(restore(left)));
  const g = grants(keys, index);
  if (g) parts.push(heading("Grants"), g);
  if (f.cron) parts.push(heading("Schedules"), cronSql());
  if (f.after) parts.push(f.after.trim());
  parts.push("reset search_path;\nreset check_function_bodies;");
  const file = `${f.feature}.sql`;
  writeFileSync(join(SCHEMAS_DIR, file), parts.join("\n\n") + "\n");
  files.push(file);
});
log(`wrote ${files.length} files to supabase/schemas/`);

// 6. config.toml lists the schema files in order (supabase db diff reads them in that order).
const configPath = join(ROOT, "supabase", "config.toml");
const config = readFileSync(configPath, "utf8");
const paths = `schema_paths = [\n${files.map((f) => `  "./schemas/${f}",`).join("\n")}\n]`;
writeFileSync(configPath, config.replace(/^schema_paths = \[[^\]]*\]/m, paths));

rmSync(work, { recursive: true, force: true });
run("psql", [DB_URL.replace(/\/[^/]*$/, "/template1"), "-X", "-q", "-c", `drop database if exists ${SCRATCH} with (force)`]);

// 7. Proof, before anything is squashed: the schema files applied in order to an empty database
// give what the migrations give.
if (squash || !process.argv.includes("--no-check")) {
  run("bash", [join(ROOT, "scripts/schema/drift-check.sh")], { stdio: "inherit" });
}
// 8. --squash: one migration per feature, the schema file's content.
if (squash) {
  for (const f of readdirSync(MIGRATIONS_DIR)) if (f.endsWith(".sql")) rmSync(join(MIGRATIONS_DIR, f));
  files.forEach((file, i) => {
    const version = `${stamp}${String(i + 1).padStart(4, "0")}00`;
    writeFileSync(join(MIGRATIONS_DIR, `${version}_${file}`), readFileSync(join(SCHEMAS_DIR, file), "utf8"));
  });
  log(`squashed supabase/migrations/ into ${files.length} migrations`);
}
log("done");
