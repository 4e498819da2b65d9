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

// Maps a thrown error to an answer: our HttpErrors as they are, Postgres errors by SQLSTATE.
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
    case "P0002":
      return errorResponse(404, "not_found", pg.message ?? "not found");
    case "57014":
      return errorResponse(503, "timeout", pg.message ?? "the statement timed out");
  }
  // The database is down or restarting: 503, and the pool reconnects on the next call.
  if (typeof pg?.code === "string" && (/^(08|57P)/.test(pg.code) ||
      ["ECONNREFUSED", "ECONNRESET", "CONNECT_TIMEOUT", "CONNECTION_CLOSED", "CONNECTION_DESTROYED", "CONNECTION_ENDED"].includes(pg.code))) {
    return errorResponse(503, "database_unavailable", "the database is unavailable; try again shortly");
  }
  console.error(err);
  return errorResponse(500, "internal", "internal error");
}

// Wraps a handler: CORS preflight, and any thrown error becomes a JSON answer.
export function serveJson(fn: (req: Request) => Promise<Response>): (req: Request) => Promise<Response> {
  return async (req: Request) => {
    if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: corsHeaders });
    try {
      return await fn(req);
    } catch (err) {
      return toResponse(err);
    }
  };
}

export function requireMethod(req: Request, ...methods: string[]): void {
  if (!methods.includes(req.method)) {
    throw new HttpError(405, "method_not_allowed", `use ${methods.join(" or ")}`);
  }
}
