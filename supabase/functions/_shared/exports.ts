// Downloads (consent-proofs, customer-data-export, timeline-export): attachments nobody caches,
// streamed so a large export never sits in memory whole, and audited whether or not they finish.
import type { Claims } from "./auth.ts";
import { actAs, sql, type Tx } from "./db.ts";
import { corsHeaders } from "./http.ts";

export function attachmentHeaders(contentType: string, filename: string): Record<string, string> {
  return {
    ...corsHeaders,
    "Content-Type": contentType,
    "Content-Disposition": `attachment; filename="${filename}"`,
    "Cache-Control": "no-store",
  };
}

export type Write = (text: string) => Promise<void>;

// An export written from one repeatable-read transaction as the caller. `write` checks first (a
// refusal thrown before it calls `start` is answered as an error), then calls `start` to begin the
// 200 answer and writes through what it returns. `audit(tx, true)` commits with the export; when
// the stream breaks after it started, `audit(tx, false)` records the attempt in a transaction of its own.
export function streamExport(opts: {
  name: string;
  claims: Claims;
  contentType: string;
  filename: string;
  write: (tx: Tx, start: () => Write) => Promise<void>;
  audit: (tx: Tx, completed: boolean) => Promise<unknown>;
}): Promise<Response> {
  const encoder = new TextEncoder();
  return new Promise<Response>((resolve, reject) => {
    let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
    const start = (): Write => {
      const stream = new TransformStream<Uint8Array, Uint8Array>();
      writer = stream.writable.getWriter();
      resolve(new Response(stream.readable, { status: 200, headers: attachmentHeaders(opts.contentType, opts.filename) }));
      return (text) => writer!.write(encoder.encode(text));
    };
    const exported = sql().begin("isolation level repeatable read", async (tx) => {
      await actAs(tx, opts.claims);
      await opts.write(tx, start);
      await opts.audit(tx, true);
    });
    exported.then(
      () => writer!.close(),
      async (err) => {
        if (!writer) return reject(err);
        console.error(`${opts.name}: stream aborted`, err);
        await writer.abort(err).catch(() => {});
        await sql().begin(async (tx) => {
          await actAs(tx, opts.claims);
          await opts.audit(tx, false);
        }).catch((e) => console.error(`${opts.name}: audit of the aborted export failed`, e));
      },
    );
  });
}
