// What the database allows in a column right now (scripts/lib/allowed-values.mjs, the same
// reading scripts/gen-constants.mjs generates the edge functions' lists from).
import { allowedValues } from "../../scripts/lib/allowed-values.mjs";
import { sql } from "./index.ts";

export async function allowed(table: string, column: string, schema = "public"): Promise<string[]> {
  return await allowedValues(sql, schema, table, column);
}
