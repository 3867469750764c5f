#!/usr/bin/env python3
"""The README shows examples/udp_client.cpp and examples/udp_server.cpp verbatim.

usage: readme_test.py README.md FILE...

Each FILE must appear, whole and unchanged, as the body of one ```cpp block of the README.
Prints "PASS: ..." with each file's line count and exits 0, or "FAIL: ..." and exits 1.
"""
import os
import re
import sys

readme = open(sys.argv[1]).read()
blocks = re.findall(r"```cpp\n(.*?)```", readme, re.S)
counts = []
for path in sys.argv[2:]:
    text = open(path).read()
    name = os.path.basename(path)
    if text not in blocks:
        print(f"FAIL: README.md has no ```cpp block equal to {path}: copy the file into it")
        sys.exit(1)
    code = [line for line in text.splitlines()
            if line.strip() and not line.strip().startswith(("//", "#include"))]
    counts.append(f"{name} {len(text.splitlines())} lines ({len(code)} of code)")
print("PASS: the README shows " + ", ".join(counts) + " verbatim")
