import { defineConfig } from "vitest/config";
import LedgerLastSequencer from "./tests/support/sequencer.ts";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/global-setup.ts"],
    // One shared database: files run one after another.
    fileParallelism: false,
    // tests/ledger/ asserts invariants over what every other file left: it runs last
    sequence: { sequencer: LedgerLastSequencer },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
