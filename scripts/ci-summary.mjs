// Adds up vitest JSON reports and prints the closing line CI reads: "N passed, M failed".
// A report that is missing counts as one failure, so a run that died never looks green.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + (r.numTodoTests ?? 0);
    // A file that failed to load has no tests in it but must still fail the run.
    const broken = r.testResults.filter((t) => t.status === 'failed' && t.assertionResults.length === 0).length;
    failed += broken;
    console.log(`${file}: ${r.numPassedTests} passed, ${r.numFailedTests + broken} failed, ${r.numPendingTests} skipped`);
  } catch (err) {
    console.log(`${file}: no report (${err.message})`);
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
