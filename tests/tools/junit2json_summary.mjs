// Reads a JUnit XML file with junit2json (npm) and prints what it understood, in the shape
// junitparser_summary.py prints. Used by tests/integration/exports.rs.
import fs from 'node:fs';
import { parse } from 'junit2json';

const doc = await parse(fs.readFileSync(process.argv[2], 'utf8'));
const result = (c) => {
  for (const word of ['failure', 'error', 'skipped']) {
    if (c[word] && c[word].length) return [word, String(c[word][0].message ?? '')];
  }
  return ['pass', ''];
};
const suites = (doc.testsuite ?? []).map((s) => ({
  name: String(s.name),
  tests: s.tests,
  failures: s.failures,
  errors: s.errors,
  skipped: s.skipped,
  time: s.time,
  timestamp: String(s.timestamp),
  hostname: String(s.hostname),
  properties: Object.fromEntries((s.properties ?? []).map((p) => [String(p.name), String(p.value)])),
  cases: (s.testcase ?? []).map((c) => {
    const [r, message] = result(c);
    return { name: String(c.name), classname: String(c.classname), time: c.time, result: r, message };
  }),
}));
process.stdout.write(JSON.stringify(suites));
