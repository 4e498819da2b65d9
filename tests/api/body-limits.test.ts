// Bodies are read with a byte limit before anything else (supabase/functions/_shared/http.ts
// serveJson): an oversized or unauthorised body is answered without being buffered, chunked or
// with a Content-Length, and the gateway's memory returns to its baseline. Runs its own gateway
// process so its RSS can be read from /proc.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, type TestUser } from "../support/index.ts";
import { TEST_PORTS } from "../support/ports.ts";
import { publishableKey } from "../../scripts/keys.mjs";

const root = resolve(import.meta.dirname, "../..");
const port = Number(process.env.TEST_BODY_GATEWAY_PORT ?? TEST_PORTS.functions + 2);
const MB = 1024 * 1024;
let gateway: ChildProcess;
let customer: TestUser;
let communicator: TestUser;
let baselineMb = 0;

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
  return Math.round(kb / 1024);
}

interface Upload {
  status: number;
  body: any;
  sentMbAtAnswer: number;
  gatewayGrowthMbAtAnswer: number;
}

// Not buffered: either the client had sent little when the answer came, or (on an idle machine,
// where loopback swallows the whole upload before the client reads the answer, and the server
// discards what it never reads) the gateway's memory had not grown by the body's size.
function expectNotBuffered(r: Upload, mb: number): void {
  expect(Math.min(r.sentMbAtAnswer, r.gatewayGrowthMbAtAnswer), JSON.stringify(r)).toBeLessThan(mb);
}

// Streams `totalMb` MB of `fill` in 1 MB writes (chunked unless contentLength) and stops writing
// as soon as the answer arrives; returns the answer and how much had been sent by then.
function upload(path: string, opts: { totalMb: number; chunked: boolean; headers?: Record<string, string> }): Promise<Upload> {
  const chunk = Buffer.alloc(MB, "a");
  const total = opts.totalMb * MB;
  return new Promise((resolveUpload, reject) => {
    const headers: Record<string, string | number> = { "Content-Type": "application/x-www-form-urlencoded", ...(opts.headers ?? {}) };
    if (!opts.chunked) headers["Content-Length"] = total;
    const req = http.request({ host: "127.0.0.1", port, method: "POST", path: path.startsWith("/") ? path : `/functions/v1/${path}`, headers });
    let sent = 0;
    let answered = false;
    const timer = setTimeout(() => { req.destroy(); reject(new Error(`${path}: no answer after ${sent / MB} MB`)); }, 60_000);
    req.on("response", (res) => {
      answered = true;
      const sentMbAtAnswer = sent / MB;
      const gatewayGrowthMbAtAnswer = rssMb(gateway.pid!) - baselineMb;
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => {
        clearTimeout(timer);
        req.destroy();
        let body: any = text;
        try { body = JSON.parse(text); } catch { /* not JSON */ }
        resolveUpload({ status: res.statusCode!, body, sentMbAtAnswer, gatewayGrowthMbAtAnswer });
      });
    });
    req.on("error", (err) => { if (!answered) { clearTimeout(timer); reject(err); } });
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

beforeAll(async () => {
  customer = await createUser([]);
  communicator = await createUser(["admin", "communications"]);
  gateway = spawn(resolve(root, "node_modules/.bin/deno"), ["run", "-A", "--config", "supabase/functions/deno.json", "scripts/functions-gateway.ts"], {
    cwd: root,
    env: { ...process.env, FUNCTIONS_PORT: String(port) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}/functions/v1/health`);
      break;
    } catch {
      if (Date.now() > until) throw new Error("gateway did not start");
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  // load every function module once, then take the baseline
  for (const name of ["twilio-inbound", "sendgrid-events", "message-preview"]) {
    await fetch(`http://127.0.0.1:${port}/functions/v1/${name}`, { method: "POST", headers: { Authorization: `Bearer ${customer.jwt}` }, body: "x=1" });
  }
  await new Promise((r) => setTimeout(r, 500));
  baselineMb = rssMb(gateway.pid!);
});

afterAll(async () => {
  gateway?.kill("SIGTERM");
});

describe("oversized and unauthorised bodies are answered without being buffered", () => {
  it("twilio-inbound, unsigned, 150 MB with Content-Length: 413 up front", async () => {
    const r = await upload("twilio-inbound", { totalMb: 150, chunked: false });
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ code: "too_large", message: "body: this endpoint accepts at most 128 KB" });
    expectNotBuffered(r, 40);
  });

  it("twilio-inbound, unsigned, 150 MB chunked: 401 before the body is read", async () => {
    const r = await upload("twilio-inbound", { totalMb: 150, chunked: true });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("bad_signature");
    expectNotBuffered(r, 40);
  });

  it("twilio-inbound with a (forged) signature, 150 MB chunked: 413 once past 128 KB", async () => {
    const r = await upload("twilio-inbound", { totalMb: 150, chunked: true, headers: { "X-Twilio-Signature": "forged" } });
    expect(r.status).toBe(413);
    expectNotBuffered(r, 40);
  });

  it.each([true, false])("sendgrid-events with signature headers, 150 MB (chunked: %s): 413 once past 10 MB", async (chunked) => {
    const r = await upload("sendgrid-events", {
      totalMb: 150, chunked,
      headers: { "Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Signature": "forged", "X-Twilio-Email-Event-Webhook-Timestamp": "1" },
    });
    expect(r.status).toBe(413);
    expect(r.body.error.message).toBe("body: this endpoint accepts at most 10 MB");
    expectNotBuffered(r, 50);
  });

  it("message-preview, a customer's 200 MB chunked POST: 403 before the body is read", async () => {
    const r = await upload("message-preview", {
      totalMb: 200, chunked: true, headers: { Authorization: `Bearer ${customer.jwt}`, "Content-Type": "application/json" },
    });
    expect(r.status).toBe(403);
    expectNotBuffered(r, 40);
  });

  it("message-preview, a customer's 200 MB POST with Content-Length: 413 up front", async () => {
    const r = await upload("message-preview", {
      totalMb: 200, chunked: false, headers: { Authorization: `Bearer ${customer.jwt}`, "Content-Type": "application/json" },
    });
    expect(r.status).toBe(413);
    expectNotBuffered(r, 40);
  });

  it("message-preview, a communicator's 200 MB chunked POST: 413 once past 4 MB", async () => {
    const r = await upload("message-preview", {
      totalMb: 200, chunked: true, headers: { Authorization: `Bearer ${communicator.jwt}`, "Content-Type": "application/json" },
    });
    expect(r.status).toBe(413);
    expect(r.body.error.message).toBe("body: this endpoint accepts at most 4 MB");
    expectNotBuffered(r, 40);
  });

  it.each([true, false])("/rest/v1, a 40 MB insert (chunked: %s): 413 JSON once past 8 MB, nothing reaches PostgREST", async (chunked) => {
    const r = await upload("/rest/v1/customer_tags", {
      totalMb: 40, chunked, headers: { apikey: publishableKey(), Authorization: `Bearer ${communicator.jwt}`, "Content-Type": "application/json" },
    });
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ code: "PGRST413", message: "body: the Data API accepts at most 8 MB per request" });
    expectNotBuffered(r, 30);
  });

  it("the gateway's memory is back at its baseline afterwards", async () => {
    await new Promise((r) => setTimeout(r, 1000));
    const after = rssMb(gateway.pid!);
    console.log(`body limits: gateway RSS baseline ${baselineMb} MB, after 8 oversized uploads (1.3 GB offered) ${after} MB`);
    expect(after - baselineMb).toBeLessThan(48);
  });

  it("a body within the limit is still read: a small unsigned-but-headed twilio form gets 401 for its signature", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/functions/v1/twilio-inbound`, {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "forged" }, body: "From=%2B4790000000&Body=hi",
    });
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toBe("the signature does not match");
  });
});
