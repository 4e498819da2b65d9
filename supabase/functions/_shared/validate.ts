// Request bodies are read with a byte limit, refused when a string holds a NUL character (text in
// Postgres cannot), and parsed with zod; a failure is a 400 naming the first bad field, with every
// issue in details.
import type { z } from "zod";
import { HttpError } from "./http.ts";

// Enough for the largest valid request (100,000 audience ids, or an email at its limits).
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

// A uuid as Postgres writes it (any case), for ids in query strings and links.
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), "") || "body";
}

async function readText(req: Request, maxBytes: number): Promise<string> {
  const declared = Number(req.headers.get("Content-Length") ?? "NaN");
  const tooLarge = () => new HttpError(413, "payload_too_large", `body: at most ${maxBytes} bytes`);
  if (declared > maxBytes) throw tooLarge();
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

// The path of the first string (key or value) holding U+0000, or null.
export function findNul(value: unknown, path: PropertyKey[] = []): PropertyKey[] | null {
  if (typeof value === "string") return value.includes("\u0000") ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNul(value[i], [...path, i]);
      if (found) return found;
    }
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes("\u0000")) return [...path, k];
      const found = findNul(v, [...path, k]);
      if (found) return found;
    }
  }
  return null;
}

export async function readJson(req: Request, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  const text = await readText(req, maxBytes);
  if (!text.trim()) throw new HttpError(400, "invalid_body", "body: a JSON object is required");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_json", "body: not valid JSON");
  }
  const nul = findNul(parsed);
  if (nul) {
    const where = issuePath(nul).replaceAll("\u0000", "\\u0000");
    throw new HttpError(400, "invalid_body", `${where}: must not contain a NUL character (\\u0000)`,
      [{ path: where, code: "nul_character", message: "must not contain a NUL character (\\u0000)" }]);
  }
  return parsed;
}

export function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: issuePath(i.path), code: i.code, message: i.message }));
    throw new HttpError(400, "invalid_body", `${issues[0].path}: ${issues[0].message}`, issues);
  }
  return result.data;
}
