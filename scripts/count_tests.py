#!/usr/bin/env python3
"""Counts the tests of the last `meson test` run of each configuration and prints the closing line.

usage: count_tests.py NAME=BUILD_DIR [NAME=BUILD_DIR ...]     e.g. plain=build asan=build-asan

Each distinct test counts once per configuration it ran in:
- a meson test that writes a JUnit report (Catch2's `--reporter junit --out FILE`) counts each of
  its TEST_CASEs once: Catch2 reports every leaf SECTION and every GENERATE value as a testcase
  element named "test case/section...", and those are folded back into their test case, which
  passed only if all of them did;
- any other meson test counts as one test; exit status 77 is a skip, whose reason is the last
  line the test printed.
A report older than the run that should have written it (the binary crashed before writing, or
did not run) is a failure, as is a build directory without a test log: a run that executed
nothing is never reported as a pass.

Prints the failures and the skips with their reasons, then the closing line
"dtlspp: N passed, N failed, N skipped (...)" with each configuration's figures. Exit status: 0 when nothing failed and
something ran, 1 otherwise.
"""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field


@dataclass
class tally:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list = field(default_factory=list)
    skips: list = field(default_factory=list)

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.failures += other.failures
        self.skips += other.skips

    def fail(self, what):
        self.failed += 1
        self.failures.append(what)

    def skip(self, what):
        self.skipped += 1
        self.skips.append(what)


def junit_path(command):
    """The file a Catch2 command writes its JUnit report to, or None."""
    for i, arg in enumerate(command):
        if arg == "--out" and i + 1 < len(command):
            return command[i + 1]
    return None


def test_case_names(binary):
    """The binary's TEST_CASE names (Catch2 --list-test-names-only), or an empty set."""
    try:
        out = subprocess.run([binary, "--list-test-names-only"], capture_output=True, text=True,
                             timeout=120, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {line.strip() for line in out.splitlines() if line.strip()}


def owner(name, known):
    """The TEST_CASE a JUnit testcase name belongs to: the longest known name that is the whole
    name or its part before a '/' (section separator)."""
    best = None
    for k in known:
        if (name == k or name.startswith(k + "/")) and (best is None or len(k) > len(best)):
            best = k
    return best or name.split("/")[0]


def failure_text(case):
    for child in case:
        if child.tag in ("failure", "error"):
            text = (child.get("message") or "") + "\n" + (child.text or "").strip()
            return "\n    " + text.strip().replace("\n", "\n    ")
    return ""


def count_junit(path, binary, label):
    """Counts the TEST_CASEs of one JUnit report."""
    known = test_case_names(binary)
    cases = {}  # name -> [any_failed, all_skipped, detail]
    for case in ET.parse(path).getroot().iter("testcase"):
        name = owner(case.get("name", "?"), known)
        bad = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        entry = cases.setdefault(name, [False, True, ""])
        if bad and not entry[0]:
            entry[2] = failure_text(case)
        entry[0] |= bad
        entry[1] &= skipped
    t = tally()
    for name, (bad, skipped, detail) in sorted(cases.items()):
        if bad:
            t.fail(f"{label} / {name}{detail}")
        elif skipped:
            t.skip(f"{label} / {name}")
        else:
            t.passed += 1
    return t


def count_result(r, build):
    """Counts one meson test result."""
    name = r["name"]
    result = r.get("result", "?")
    junit = junit_path(r.get("command", []))
    t = tally()
    if junit is not None:
        if not os.path.exists(junit) or os.path.getmtime(junit) < r.get("starttime", 0) - 1:
            t.fail(f"{name}: {result}, and no report from this run ({junit} "
                   f"{'is older than the run' if os.path.exists(junit) else 'is missing'})")
            return t
        try:
            t = count_junit(junit, r["command"][0], name)
        except ET.ParseError:
            t.fail(f"{name}: unreadable report {junit}")
            return t
        if result not in ("OK", "EXPECTEDFAIL") and t.failed == 0:
            t.fail(f"{name} ({result}) though its report shows no failure")
        return t
    if result == "SKIP":
        lines = [l for l in (r.get("stdout") or "").splitlines() if l.strip()]
        t.skip(f"{name}: {lines[-1].strip() if lines else 'no reason printed'}")
    elif result in ("OK", "EXPECTEDFAIL"):
        t.passed += 1
    else:
        t.fail(f"{name} ({result})")
    return t


def count_build(build):
    log = os.path.join(build, "meson-logs", "testlog.json")
    t = tally()
    if not os.path.exists(log):
        t.fail(f"no test log in {build}: nothing ran")
        return t
    with open(log) as f:
        for line in f:
            if line.strip():
                t.add(count_result(json.loads(line), build))
    if t.passed + t.failed + t.skipped == 0:
        t.fail(f"{build}: the test log lists no test")
    return t


def main(argv):
    configs = []
    for arg in argv or ["plain=build"]:
        label, _, build = arg.partition("=")
        configs.append((label, build or label))
    total = tally()
    parts = []
    for label, build in configs:
        t = count_build(build)
        total.add(t)
        parts.append(f"{label} {t.passed} passed, {t.failed} failed, {t.skipped} skipped")
        for s in t.skips:
            print(f"skipped [{label}]: {s}")
        for f in t.failures:
            print(f"FAILED [{label}]: {f}")
    print(f"dtlspp: {total.passed} passed, {total.failed} failed, {total.skipped} skipped "
          f"(each distinct test once per configuration: {'; '.join(parts)})")
    return 0 if total.failed == 0 and total.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
