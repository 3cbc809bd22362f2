"""Reads a JUnit XML file with junitparser (PyPI) and prints what it understood, as JSON:
[{name, tests, failures, errors, skipped, time, timestamp, hostname, properties,
  cases: [{name, classname, time, result, message}]}]. Used by tests/integration/exports.rs."""
import json
import sys

from junitparser import Error, Failure, JUnitXml, Skipped

RESULTS = ((Failure, "failure"), (Error, "error"), (Skipped, "skipped"))


def result_of(case):
    for r in case.result:
        for cls, word in RESULTS:
            if isinstance(r, cls):
                return word, r.message or ""
    return "pass", ""


suites = []
for suite in JUnitXml.fromfile(sys.argv[1]):
    cases = []
    for case in suite:
        result, message = result_of(case)
        cases.append({"name": case.name, "classname": case.classname, "time": case.time,
                      "result": result, "message": message})
    suites.append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                   "errors": suite.errors, "skipped": suite.skipped, "time": suite.time,
                   "timestamp": suite.timestamp, "hostname": suite.hostname,
                   "properties": {p.name: p.value for p in suite.properties()},
                   "cases": cases})
json.dump(suites, sys.stdout, ensure_ascii=False)
