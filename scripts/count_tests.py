#!/usr/bin/env python3
"""Counts test results of the last `meson test` run and prints "dtlspp: N passed, N failed".

Catch2 test cases are counted one by one from the unit binary's JUnit report; every other
meson test counts as one. Several build directories (the plain build, the sanitizer build)
add up. A test binary that crashed before writing its report counts as one
failure, so a run that executed nothing or died is never reported as a pass.
Exit status: 0 when nothing failed and something ran, 1 otherwise.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET


def junit_counts(path):
    passed, failed, names = 0, 0, []
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        bad = case.find("failure") is not None or case.find("error") is not None
        if bad:
            failed += 1
            detail = ""
            for child in case:
                if child.tag in ("failure", "error"):
                    detail = (child.get("message") or "") + "\n" + (child.text or "").strip()
                    break
            names.append(case.get("classname", "") + " / " + case.get("name", "?") +
                         ("\n    " + detail.strip().replace("\n", "\n    ") if detail else ""))
        elif case.find("skipped") is None:
            passed += 1
    return passed, failed, names


def main():
    builds = sys.argv[1:] or ["build"]
    passed, failed, failures = 0, 0, []
    for build in builds:
        p, f, names = count_build(build)
        passed += p
        failed += f
        failures += [f"[{build}] {n}" for n in names]
    for name in failures:
        print(f"FAILED: {name}")
    print(f"dtlspp: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


def count_build(build):
    """Counts one build directory's last `meson test` run: (passed, failed, failure names)."""
    log = os.path.join(build, "meson-logs", "testlog.json")
    passed, failed, failures = 0, 0, []
    if not os.path.exists(log):
        return 0, 1, [f"no test log in {build}: nothing ran"]
    with open(log) as f:
        results = [json.loads(line) for line in f if line.strip()]
    for r in results:
        ok = r.get("result") in ("OK", "EXPECTEDFAIL")
        junit = None
        for i, arg in enumerate(r.get("command", [])):
            if arg == "--out" and i + 1 < len(r["command"]):
                junit = r["command"][i + 1]
        if junit and os.path.exists(junit) and os.path.getsize(junit) > 0:
            try:
                p, fl, names = junit_counts(junit)
            except ET.ParseError:
                p, fl, names = 0, 1, [r["name"] + " (unreadable report)"]
            passed += p
            failed += fl
            failures += names
            if not ok and fl == 0:
                failed += 1
                failures.append(r["name"] + " (" + r.get("result", "?") + ")")
        elif r.get("result") == "SKIP":
            print(f"skipped: {r['name']}")
        elif ok:
            passed += 1
        else:
            failed += 1
            failures.append(r["name"] + " (" + r.get("result", "?") + ")")
    return passed, failed, failures


if __name__ == "__main__":
    sys.exit(main())
