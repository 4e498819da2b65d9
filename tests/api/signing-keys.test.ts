// The signing key is made once, by whichever process of the stack needs it first: PostgREST's
// launcher, the gateway and the tests start side by side on a fresh checkout and must all end up
// with the same key (CI saw PostgREST and the tests each make their own: JWSInvalidSignature).
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const keys = resolve(import.meta.dirname, "../../scripts/keys.mjs");

describe("signing keys", () => {
  it("processes that start together on a fresh checkout share one key", async () => {
    for (let round = 0; round < 3; round++) {
      const dir = mkdtempSync(join(tmpdir(), "crm-keys-"));
      try {
        const path = join(dir, "signing-keys.json");
        // all start loading, then ask for the key at the same moment
        const at = Date.now() + 1500;
        const script = `import { signingKeys } from ${JSON.stringify(keys)};
          await new Promise((r) => setTimeout(r, ${at} - Date.now()));
          console.log((await signingKeys())[0].kid);`;
        const kids = await Promise.all(Array.from({ length: 6 }, () =>
          run(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, SUPABASE_SIGNING_KEYS_PATH: path } })
            .then((r) => r.stdout.trim())));
        expect(new Set(kids).size).toBe(1);
        expect(readdirSync(dir)).toEqual(["signing-keys.json"]); // no temporary files left
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
