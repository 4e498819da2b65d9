// docs/functions.openapi.json is what scripts/gen-functions-openapi.ts writes from the functions'
// zod schemas today, documents functions that exist with their methods, and docs/api.md links it.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { functionsOpenApi, functionsOpenApiJson } from "../../scripts/docs/functions-openapi.ts";
import { callFunction } from "../support/index.ts";

const root = resolve(import.meta.dirname, "../..");
const committed = readFileSync(resolve(root, "docs/functions.openapi.json"), "utf8");

describe("docs/functions.openapi.json", () => {
  it("is up to date with the functions' zod schemas (npm run types rewrites it)", () => {
    expect(committed).toBe(functionsOpenApiJson());
  });

  it("documents existing functions with the method each requires (another one is a 405 naming it)", async () => {
    const paths = (JSON.parse(committed) as { paths: Record<string, Record<string, unknown>> }).paths;
    expect(Object.keys(paths).length).toBeGreaterThan(0);
    for (const [path, operations] of Object.entries(paths)) {
      expect(existsSync(resolve(root, "supabase/functions", path.slice(1), "handler.ts")), path).toBe(true);
      const res = await callFunction(path.slice(1), { method: "PUT" });
      expect({ path, status: res.status, message: (await res.json()).error.message })
        .toEqual({ path, status: 405, message: `use ${Object.keys(operations).map((m) => m.toUpperCase()).join(" or ")}` });
    }
  });

  it("carries the limits of the schemas, e.g. the audience's customer_ids", () => {
    const doc = functionsOpenApi() as { paths: Record<string, { post: { requestBody: { content: Record<string, { schema: any }> } } }> };
    const audience = doc.paths["/communications-audience"].post.requestBody.content["application/json"].schema.properties.audience;
    const ids = audience.anyOf.find((s: any) => s.properties?.customer_ids).properties.customer_ids;
    expect(ids).toMatchObject({ type: "array", minItems: 1, maxItems: 100000 });
  });

  it("is linked from docs/api.md's edge functions section", () => {
    const api = readFileSync(resolve(root, "docs/api.md"), "utf8");
    expect(api.slice(api.indexOf("## Reference: edge functions"))).toContain("(functions.openapi.json)");
  });
});
