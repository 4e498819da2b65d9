// node scripts/bench/validate-segment.mjs [-- --keys 10000 --runs 3]
// validate_segment on hostile definitions: N unknown keys at the root, and N unknown keys in one
// rule. Baseline, same run: validate_segment on a valid definition with 100 rules (the largest a
// definition may hold). Prints each median and its ratio to the baseline, with the error count.
import { arg, printTable, report, sql } from "./lib.mjs";

const keys = Number(arg("keys", "10000"));
const runs = Number(arg("runs", "3"));

async function time(definition) {
  const samples = [];
  let errors = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const [row] = await sql`select jsonb_array_length(public.validate_segment(${sql.json(definition)})) as n`;
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    errors = row.n;
  }
  samples.sort((a, b) => a - b);
  return { ms: Math.round(samples[Math.floor(runs / 2)] * 10) / 10, errors };
}

const unknown = Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i]));
const valid = {
  version: 1, combinator: "and",
  rules: Array.from({ length: 100 }, (_, i) => ({ field: "city", operator: "in", value: [`c${i}`, `d${i}`] })),
};
const rootKeys = { ...unknown, version: 1, combinator: "and", rules: [{ field: "city", operator: "null" }] };
const ruleKeys = { version: 1, combinator: "and", rules: [{ ...unknown, field: "city", operator: "null" }] };

const baseline = await time(valid);
report({ figure: "validate_segment: valid, 100 rules (baseline)", value: baseline.ms, unit: "ms", errors: baseline.errors });
for (const [name, definition] of [[`${keys} unknown root keys`, rootKeys], [`${keys} unknown keys in one rule`, ruleKeys]]) {
  const r = await time(definition);
  report({ figure: `validate_segment: ${name} (${r.errors} errors reported)`, value: r.ms, unit: "ms", baseline: baseline.ms,
           ratio: Math.round((r.ms / baseline.ms) * 10) / 10, errors: r.errors });
}
printTable(`validate_segment, median of ${runs}`);
await sql.end();
