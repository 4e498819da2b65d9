// Request bodies are parsed with zod; a failure is a 400 naming the first bad field, with every issue in details.
import type { z } from "zod";
import { HttpError } from "./http.ts";

export function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), "") || "body";
}

export async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
  if (!text.trim()) throw new HttpError(400, "invalid_body", "body: a JSON object is required");
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_json", "body: not valid JSON");
  }
}

export function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: issuePath(i.path), code: i.code, message: i.message }));
    throw new HttpError(400, "invalid_body", `${issues[0].path}: ${issues[0].message}`, issues);
  }
  return result.data;
}
