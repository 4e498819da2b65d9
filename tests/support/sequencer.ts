// The default order (slowest first), except that tests/ledger/ runs last: its invariants
// (check_consent_proofs) are asserted over everything the other test files left in the database.
import { BaseSequencer, type TestSpecification } from "vitest/node";

export default class LedgerLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const last = (f: TestSpecification) => (f.moduleId.includes("/tests/ledger/") ? 1 : 0);
    return [...sorted].sort((a, b) => last(a) - last(b));
  }
}
