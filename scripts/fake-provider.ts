// A fake SendGrid + Twilio + Expo push provider on loopback. It speaks the real APIs' shapes,
// records every request, and can be told (POST /__control) to add latency, answer 429 with the
// provider's rate-limit headers, answer 5xx, or hang. Used by the tests and by `npm start`.
// Like the real providers it leaves evidence of what it accepted (emit_events): signed SendGrid
// Event Webhook batches (processed, delivered; custom_args at the top level) to
// $PUBLIC_FUNCTIONS_URL/sendgrid-events, signed Twilio status callbacks to each StatusCallback, and
// Twilio's Messages list (GET .../Messages.json?To=). answer_delay_ms accepts a request (recorded,
// evidence emitted) and only then waits before answering: the window a dispatcher can die in.
import { createHmac, createPrivateKey, sign as signData } from "node:crypto";

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
  answer_delay_ms?: number; // accept, record, emit evidence, then wait this long before answering
  emit_events?: boolean; // send SendGrid events and Twilio status callbacks for what is accepted
  events_delay_ms?: number;
}

interface TwilioMessage {
  sid: string;
  account_sid: string;
  to: string;
  from: string;
  body: string;
  status: string;
  date_created: string; // RFC 2822, as Twilio writes it
}

const port = Number(Deno.env.get("FAKE_PROVIDER_PORT") ?? "54329");
const initialControl = (): Control => ({ latency_ms: 0, timeout_count: 0, faults: [], answer_delay_ms: 0, emit_events: false, events_delay_ms: 0 });
let control: Control = initialControl();
let messages: TwilioMessage[] = [];
let generation = 0;

const functionsUrl = () => (Deno.env.get("PUBLIC_FUNCTIONS_URL") ?? "").replace(/\/$/, "");

function later(fn: () => Promise<unknown>): void {
  setTimeout(() => fn().catch((err) => console.error(`fake provider: evidence not delivered: ${(err as Error).message}`)),
    control.events_delay_ms ?? 0);
}

// SendGrid's Signed Event Webhook: ECDSA P-256 over timestamp + body, base64 DER signature.
function emitSendgridEvents(messageId: string, personalizations: Array<Record<string, any>>): void {
  const pem = Deno.env.get("FAKE_SENDGRID_EVENT_PRIVATE_KEY") ?? Deno.env.get("TEST_SENDGRID_PRIVATE_KEY");
  if (!functionsUrl() || !pem) return;
  const ts = Math.floor(Date.now() / 1000);
  const events = personalizations.flatMap((p, i) => ["processed", "delivered"].map((event) => ({
    email: p.to?.[0]?.email, timestamp: ts, event, sg_event_id: randomId("", 22),
    sg_message_id: `${messageId}.filter${i}`, "smtp-id": `<${messageId}@fake>`, ...(p.custom_args ?? {}),
  })));
  later(async () => {
    const body = JSON.stringify(events);
    const signature = signData("sha256", Buffer.from(String(ts) + body), createPrivateKey(pem)).toString("base64");
    await fetch(`${functionsUrl()}/sendgrid-events`, {
      method: "POST", body,
      headers: { "Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Signature": signature,
                 "X-Twilio-Email-Event-Webhook-Timestamp": String(ts) },
    }).then((r) => r.body?.cancel());
  });
}

// Twilio's status callback: form POST signed with HMAC-SHA1 over the URL + sorted params.
function emitTwilioCallback(url: string, msg: TwilioMessage, status: string): void {
  const token = Deno.env.get("TWILIO_AUTH_TOKEN");
  if (!token) return;
  const params: Record<string, string> = { MessageSid: msg.sid, SmsSid: msg.sid, AccountSid: msg.account_sid, To: msg.to,
                                           From: msg.from, MessageStatus: status, SmsStatus: status };
  const data = Object.keys(params).sort().reduce((acc, k) => acc + k + params[k], url);
  const signature = createHmac("sha1", token).update(Buffer.from(data, "utf8")).digest("base64");
  later(async () => {
    await fetch(url, { method: "POST", body: new URLSearchParams(params),
                       headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature } })
      .then((r) => r.body?.cancel());
  });
}
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
    const messageId = randomId("", 22);
    if (control.emit_events) emitSendgridEvents(messageId, mail.personalizations as Array<Record<string, any>>);
    return new Response(null, { status: 202, headers: { "X-Message-Id": messageId } });
  }
  const twilio = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
  if (req.method === "POST" && twilio) {
    const form = body as Record<string, string>;
    if (!form?.To || !form?.Body) return jsonResponse(400, { code: 21604, message: "A 'To' and a 'Body' are required", status: 400 });
    if (!/^\+[1-9][0-9]{6,14}$/.test(form.To)) return jsonResponse(400, { code: 21211, message: `The 'To' number ${form.To} is not a valid phone number.`, status: 400 });
    const sid = randomId("SM", 32);
    const msg: TwilioMessage = { sid, account_sid: twilio[1], to: form.To, from: form.From ?? form.MessagingServiceSid, body: form.Body,
                                 status: "queued", date_created: new Date().toUTCString().replace("GMT", "+0000") };
    messages.push(msg);
    if (control.emit_events && form.StatusCallback) emitTwilioCallback(form.StatusCallback, msg, "sent");
    return jsonResponse(201, { ...msg });
  }
  if (req.method === "GET" && twilio) {
    const url = new URL(req.url);
    const to = url.searchParams.get("To");
    const pageSize = Math.min(1000, Number(url.searchParams.get("PageSize") ?? "50"));
    const list = messages.filter((m) => m.account_sid === twilio[1] && (!to || m.to === to)).reverse().slice(0, pageSize);
    return jsonResponse(200, { messages: list, page: 0, page_size: pageSize, next_page_uri: null });
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
    control = initialControl();
    recorded = [];
    messages = [];
    generation++;
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
    const gen = generation;
    await new Promise((r) => setTimeout(r, 120_000));
    // a reset since then forgets it: a later test must not see a request from an earlier one
    if (gen !== generation) return jsonResponse(504, { errors: [{ message: "forgotten by a reset" }] });
  }
  const fault = takeFault(path);
  const response = fault ? faultResponse(fault, path) : await handleProvider(req, path, body);
  const headers: Record<string, string> = {};
  req.headers.forEach((v, k) => (headers[k] = v));
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (query[k] = v));
  recorded.push({ seq: ++seq, at: Date.now(), method: req.method, path, query, headers, body, status: response.status });
  // accepted and recorded: the answer may still be lost if the caller dies while waiting
  if (req.method === "POST" && (control.answer_delay_ms ?? 0) > 0) await new Promise((r) => setTimeout(r, control.answer_delay_ms));
  return response;
});
