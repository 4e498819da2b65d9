// Writes docs/functions.openapi.json from the functions' zod schemas (scripts/docs/functions-openapi.ts);
// `--check` compares instead. Run by scripts/gen-types.sh (npm run types), after the constants the
// schemas are built from.
//   deno run --config supabase/functions/deno.json --allow-read --allow-write scripts/gen-functions-openapi.ts [--check]
import { functionsOpenApiJson } from "./docs/functions-openapi.ts";

const out = new URL("../docs/functions.openapi.json", import.meta.url);
const text = functionsOpenApiJson();
if (Deno.args.includes("--check")) {
  let current = "";
  try {
    current = Deno.readTextFileSync(out);
  } catch { /* missing: stale */ }
  if (current !== text) {
    console.error("openapi: docs/functions.openapi.json is stale; run npm run types");
    Deno.exit(1);
  }
  console.log("openapi: docs/functions.openapi.json matches the functions' schemas");
} else {
  Deno.writeTextFileSync(out, text);
  console.log("openapi: wrote docs/functions.openapi.json");
}
