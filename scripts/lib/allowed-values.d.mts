// Types of scripts/lib/allowed-values.mjs (used by the TypeScript tests).
import type { Sql } from "postgres";

export function allowedValues(sql: Sql, schema: string, table: string, column: string): Promise<string[]>;
