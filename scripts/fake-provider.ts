// A fake SendGrid + Twilio + Expo push provider on loopback. It speaks the real APIs' shapes,
// records every request, and can be told (POST /__control) to add latency, answer 429 with the
// provider's rate-limit headers, answer 5xx, or hang. Used by the tests and by `npm start`.

interface Recorded {
  seq: number;
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
  status: number;
}

interface Fault {
  status: number; // 429, 500, 503, 400 ...
  count: number; // how many requests get it; -1 = until cleared
  retry_after?: number; // seconds, sent as Retry-After (Twilio) / X-RateLimit-Reset (SendGrid)
  path_prefix?: string;
}

interface Control {
  latency_ms: number;
  timeout_count: number; // requests that hang until the client gives up
  faults: Fault[];
}

const port = Number(Deno.env.get("FAKE_PROVIDER_PORT") ?? "54329");
let control: Control = { latency_ms: 0, timeout_count: 0, faults: [] };
let recorded: Recorded[] = [];
let seq = 0;
const suppressions: Record<string, Array<Record<string, unknown>>> = {
  unsubscribes: [],
  bounces: [],
  spam_reports: [],
  invalid_emails: [],
  blocks: [],
};

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

async function readBody(req: Request): Promise<unknown> {
  const text = await req.text();
  const type = req.headers.get("content-type") ?? "";
  if (type.includes("application/x-www-form-urlencoded")) {
    const out: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(text)) out[k] = v;
    return out;
  }
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

function takeFault(path: string): Fault | undefined {
  const fault = control.faults.find((f) => f.count !== 0 && (!f.path_prefix || path.startsWith(f.path_prefix)));
  if (fault && fault.count > 0) fault.count--;
  return fault;
}

function faultResponse(fault: Fault, path: string): Response {
  const headers: Record<string, string> = {};
  if (fault.status === 429) {
    const wait = fault.retry_after ?? 1;
    if (path.startsWith("/v3/")) {
      headers["X-RateLimit-Limit"] = "600";
      headers["X-RateLimit-Remaining"] = "0";
      headers["X-RateLimit-Reset"] = String(Math.ceil(Date.now() / 1000) + wait);
    } else {
      headers["Retry-After"] = String(wait);
    }
  }
  const body = path.startsWith("/2010-04-01/")
    ? { code: fault.status === 429 ? 20429 : 20500, message: `fake provider answers ${fault.status}`, status: fault.status }
    : { errors: [{ message: `fake provider answers ${fault.status}`, field: null }] };
  return jsonResponse(fault.status, body, headers);
}

function randomId(prefix: string, length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length / 2));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function handleProvider(req: Request, path: string, body: unknown): Promise<Response> {
  if (req.method === "POST" && path === "/v3/mail/send") {
    if (!req.headers.get("authorization")?.startsWith("Bearer ")) {
      return jsonResponse(401, { errors: [{ message: "authorization required" }] });
    }
    const mail = body as { personalizations?: unknown[] };
    if (!Array.isArray(mail?.personalizations) || mail.personalizations.length === 0 || mail.personalizations.length > 1000) {
      return jsonResponse(400, { errors: [{ message: "personalizations must hold 1 to 1000 entries", field: "personalizations" }] });
    }
    return new Response(null, { status: 202, headers: { "X-Message-Id": randomId("", 22) } });
  }
  const twilio = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
  if (req.method === "POST" && twilio) {
    const form = body as Record<string, string>;
    if (!form?.To || !form?.Body) return jsonResponse(400, { code: 21604, message: "A 'To' and a 'Body' are required", status: 400 });
    if (!/^\+[1-9][0-9]{6,14}$/.test(form.To)) return jsonResponse(400, { code: 21211, message: `The 'To' number ${form.To} is not a valid phone number.`, status: 400 });
    const sid = randomId("SM", 32);
    return jsonResponse(201, { sid, account_sid: twilio[1], to: form.To, from: form.From ?? form.MessagingServiceSid, body: form.Body, status: "queued" });
  }
  if (req.method === "POST" && path === "/--/api/v2/push/send") {
    const messages = Array.isArray(body) ? body : [body];
    return jsonResponse(200, { data: messages.map(() => ({ status: "ok", id: crypto.randomUUID() })) });
  }
  const suppression = /^\/v3\/suppression\/(unsubscribes|bounces|spam_reports|invalid_emails|blocks)$/.exec(path);
  if (req.method === "GET" && suppression) {
    const url = new URL(req.url);
    const start = Number(url.searchParams.get("start_time") ?? "0");
    const limit = Number(url.searchParams.get("limit") ?? "500");
    const offset = Number(url.searchParams.get("offset") ?? "0");
    const rows = suppressions[suppression[1]].filter((r) => Number(r.created ?? 0) >= start);
    return jsonResponse(200, rows.slice(offset, offset + limit));
  }
  return jsonResponse(404, { errors: [{ message: `fake provider has no ${req.method} ${path}` }] });
}

Deno.serve({ hostname: "127.0.0.1", port, onListen: () => console.log(`fake provider on http://127.0.0.1:${port}`) }, async (req) => {
  const url = new URL(req.url);
  const path = url.pathname;

  if (path === "/__control") {
    if (req.method === "POST") control = { ...control, ...(await req.json()) };
    return jsonResponse(200, control);
  }
  if (path === "/__reset" && req.method === "POST") {
    control = { latency_ms: 0, timeout_count: 0, faults: [] };
    recorded = [];
    for (const k of Object.keys(suppressions)) suppressions[k] = [];
    return jsonResponse(200, { ok: true });
  }
  if (path === "/__requests") {
    const since = Number(url.searchParams.get("since") ?? "0");
    return jsonResponse(200, recorded.filter((r) => r.seq > since));
  }
  if (path === "/__suppressions" && req.method === "POST") {
    const add = (await req.json()) as Record<string, Array<Record<string, unknown>>>;
    for (const [k, rows] of Object.entries(add)) suppressions[k]?.push(...rows);
    return jsonResponse(200, { ok: true });
  }

  const body = await readBody(req);
  if (control.latency_ms > 0) await new Promise((r) => setTimeout(r, control.latency_ms));
  if (control.timeout_count > 0) {
    control.timeout_count--;
    await new Promise((r) => setTimeout(r, 120_000));
  }
  const fault = takeFault(path);
  const response = fault ? faultResponse(fault, path) : await handleProvider(req, path, body);
  const headers: Record<string, string> = {};
  req.headers.forEach((v, k) => (headers[k] = v));
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (query[k] = v));
  recorded.push({ seq: ++seq, at: Date.now(), method: req.method, path, query, headers, body, status: response.status });
  return response;
});
