// JSON answers and the error shape every function uses: {"error":{"code","message","details"}}.

export const corsHeaders: Record<string, string> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers": "authorization, x-client-info, apikey, content-type, idempotency-key",
  "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
};

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...corsHeaders, ...headers },
  });
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

export function errorResponse(status: number, code: string, message: string, details: unknown = null): Response {
  return json(status, { error: { code, message, details } });
}

interface PgError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
}

// Maps a thrown error to an answer: our HttpErrors as they are, Postgres errors by SQLSTATE with
// the statuses PostgREST gives them (docs/errors.md).
export function toResponse(err: unknown): Response {
  if (err instanceof HttpError) return errorResponse(err.status, err.code, err.message, err.details);
  const pg = err as PgError;
  switch (pg?.code) {
    case "42501":
      return errorResponse(403, "forbidden", pg.message ?? "permission denied");
    case "22023":
    case "22P02":
    case "22007":
    case "22008":
    case "23502":
    case "23514":
    case "23503":
      return errorResponse(400, "invalid_input", pg.message ?? "invalid input", { sqlstate: pg.code, detail: pg.detail ?? null });
    case "23505":
      return errorResponse(409, "conflict", pg.message ?? "conflict", { sqlstate: pg.code, detail: pg.detail ?? null });
    case "PT404":
    case "P0002":
      return errorResponse(404, "not_found", pg.message ?? "not found", { sqlstate: pg.code, detail: pg.detail ?? null });
    case "PT409":
      return errorResponse(409, "conflict", pg.message ?? "conflict", { sqlstate: pg.code, detail: pg.detail ?? null });
    case "54001":
      return errorResponse(413, "too_complex", pg.message ?? "the request is too expensive to answer", { sqlstate: pg.code });
    case "57014":
      return errorResponse(503, "timeout", pg.message ?? "the statement timed out");
    case "22P05":
      return errorResponse(400, "invalid_input", pg.message ?? "text cannot hold this character", { sqlstate: pg.code, detail: pg.detail ?? null });
  }
  // PTnnn: the HTTP status PostgREST would answer, e.g. PT422 for a reused idempotency key
  if (typeof pg?.code === "string" && /^PT[45]\d\d$/.test(pg.code)) {
    const status = Number(pg.code.slice(2));
    return errorResponse(status, status === 422 ? "unprocessable" : status === 409 ? "conflict" : "refused", pg.message ?? "refused",
      { sqlstate: pg.code, detail: pg.detail ?? null });
  }
  // The database is down or restarting: 503, and the pool reconnects on the next call.
  // (SQLSTATE 08xxx/57Pxx, or the driver's socket errors: ECONNREFUSED, ECONNRESET, EPIPE, ...,
  // CONNECT_TIMEOUT, CONNECTION_CLOSED/ENDED/DESTROYED)
  if (typeof pg?.code === "string" && /^(08|57P)|^E[A-Z]+$|^CONNECT(ION)?_[A-Z]+$/.test(pg.code)) {
    return errorResponse(503, "database_unavailable", "the database is unavailable; try again shortly");
  }
  console.error(err);
  return errorResponse(500, "internal", "internal error");
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
// What a function accepts unless it says otherwise (serveJson's maxBodyBytes).
export const DEFAULT_MAX_BODY_BYTES = 64 * KiB;

function showBytes(n: number): string {
  return n % MiB === 0 ? `${n / MiB} MB` : n % KiB === 0 ? `${n / KiB} KB` : `${n} bytes`;
}

export function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, "too_large", `body: this endpoint accepts at most ${showBytes(maxBytes)}`, { max_bytes: maxBytes });
}

export interface LimitedRequest {
  req: Request;
  exceeded(): boolean;
  discard(): void;
}

// The same request whose body errors as soon as more than maxBytes arrive, chunked or not, so
// req.text() / json() / arrayBuffer() / formData() never hold more than the limit.
export function limitBody(req: Request, maxBytes: number): LimitedRequest {
  if (!req.body) return { req, exceeded: () => false, discard: () => {} };
  if (req.method === "GET" || req.method === "HEAD") {
    // nothing reads a GET body: drop whatever came
    return { req, exceeded: () => false, discard: () => void req.body?.cancel().catch(() => {}) };
  }
  const reader = req.body.getReader();
  let seen = 0;
  let over = false;
  let finished = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        controller.close();
        return;
      }
      seen += value.byteLength;
      if (seen > maxBytes) {
        over = true;
        finished = true;
        await reader.cancel().catch(() => {});
        controller.error(tooLarge(maxBytes));
        return;
      }
      controller.enqueue(value);
    },
    async cancel(reason) {
      finished = true;
      await reader.cancel(reason).catch(() => {});
    },
  });
  const limited = new Request(req.url, { method: req.method, headers: req.headers, body, duplex: "half" } as RequestInit);
  return {
    req: limited,
    exceeded: () => over,
    // A body the handler did not read is dropped, never drained into memory.
    discard: () => {
      if (!finished) reader.cancel().catch(() => {});
    },
  };
}

export interface ServeOptions {
  // Bodies larger than this are refused with 413 before anything else reads them: by
  // Content-Length up front, and while streaming for chunked bodies. Default 64 KB.
  maxBodyBytes?: number;
}

// Wraps a handler: CORS preflight, the body's byte limit, and any thrown error becomes a JSON answer.
export function serveJson(
  fn: (req: Request) => Promise<Response>,
  opts: ServeOptions = {},
): (req: Request) => Promise<Response> {
  const maxBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return async (original: Request) => {
    if (original.method === "OPTIONS") return new Response(null, { status: 204, headers: corsHeaders });
    const declared = original.headers.get("content-length");
    if (declared !== null && !(Number(declared) <= maxBytes)) {
      await original.body?.cancel().catch(() => {});
      return toResponse(tooLarge(maxBytes));
    }
    const limited = limitBody(original, maxBytes);
    try {
      return await fn(limited.req);
    } catch (err) {
      return toResponse(limited.exceeded() ? tooLarge(maxBytes) : err);
    } finally {
      limited.discard();
    }
  };
}

export function requireMethod(req: Request, ...methods: string[]): void {
  if (!methods.includes(req.method)) {
    throw new HttpError(405, "method_not_allowed", `use ${methods.join(" or ")}`);
  }
}
