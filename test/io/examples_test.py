#!/usr/bin/env python3
"""The README's UDP client and server, run against each other on loopback.

usage: examples_test.py UDP_SERVER UDP_CLIENT DTLSCAT

udp_server listens on [::] (port 0); udp_client connects over IPv4 (127.0.0.1) and over IPv6
(::1) and must print the echo and exit 0; a client with a certificate the server does not pin
fails alone; a client aimed at a closed port fails at once with "Connection refused"; SIGTERM
stops the server cleanly. Identities come from dtlscat --generate-identity, as the README says.
Prints "PASS: ..." and exits 0, or "FAIL: ..." with every output and exits 1.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

server_bin, client_bin, dtlscat = (os.path.abspath(a) for a in sys.argv[1:4])
work = tempfile.mkdtemp(prefix="udp-examples.")
logs = []


def fail(message):
    print(f"FAIL: {message}")
    for name, text in logs:
        print(f"---- {name}\n{text}")
    sys.exit(1)


def identity(name):
    r = subprocess.run([dtlscat, "--generate-identity", f"{name}.pem", f"{name}.key"], cwd=work,
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"dtlscat --generate-identity: {r.stderr}")
    return r.stdout.strip()


def run_client(host, port, name, server_fp, timeout=15):
    start = time.monotonic()
    r = subprocess.run([client_bin, host, str(port), f"{name}.pem", f"{name}.key", server_fp],
                       cwd=work, capture_output=True, text=True, timeout=timeout)
    logs.append((f"udp_client {host} ({name}), exit {r.returncode}", r.stdout + r.stderr))
    return r, time.monotonic() - start


server_fp, client_fp = identity("server"), identity("client")
identity("stranger")
server = subprocess.Popen([server_bin, "0", "server.pem", "server.key", client_fp], cwd=work,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    first = server.stdout.readline()
    m = re.fullmatch(r"listening on \[::\]:(\d+)\n", first)
    if not m:
        fail(f"udp_server printed {first!r}, expected 'listening on [::]:PORT'")
    port = int(m.group(1))
    for host in ["127.0.0.1", "::1"]:
        r, _ = run_client(host, port, "client", server_fp)
        if r.returncode != 0 or r.stdout != "echo: hello from udp_client\n":
            fail(f"udp_client over {host}: exit {r.returncode}, stdout {r.stdout!r}")
    r, _ = run_client("127.0.0.1", port, "stranger", server_fp)
    if r.returncode != 1 or r.stdout:
        fail(f"the stranger's client: exit {r.returncode}, stdout {r.stdout!r}")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    r, took = run_client("127.0.0.1", closed_port, "client", server_fp)
    if r.returncode != 1 or "udp_client: Connection refused" not in r.stderr or took > 3:
        fail(f"a closed port: exit {r.returncode} after {took:.1f} s, stderr {r.stderr!r}")
    r, _ = run_client("::1", port, "client", server_fp)  # the server still serves
    if r.returncode != 0:
        fail("udp_client after the stranger: exit {r.returncode}")
    server.send_signal(signal.SIGTERM)
    out, err = server.communicate(timeout=10)
finally:
    if server.poll() is None:
        server.kill()
        server.wait()
lines = [first.rstrip("\n")] + out.splitlines()
logs.append((f"udp_server, exit {server.returncode}", "\n".join(lines) + err))
want = [
    r"listening on \[::\]:\d+",
    r"\[::ffff:127\.0\.0\.1\]:\d+ connected", r"\[::ffff:127\.0\.0\.1\]:\d+: hello from udp_client",
    r"\[::ffff:127\.0\.0\.1\]:\d+ closed: clean",
    r"\[::1\]:\d+ connected", r"\[::1\]:\d+: hello from udp_client", r"\[::1\]:\d+ closed: clean",
    r"\[::ffff:127\.0\.0\.1\]:\d+ closed: .*fingerprint mismatch",
    r"\[::1\]:\d+ connected", r"\[::1\]:\d+: hello from udp_client", r"\[::1\]:\d+ closed: clean",
    r"stopped",
]
if server.returncode != 0 or len(lines) != len(want) or not all(
        re.fullmatch(w, line) for w, line in zip(want, lines)):
    fail(f"udp_server exited {server.returncode} and printed {lines!r}")
subprocess.run(["rm", "-rf", work])
print("PASS: udp_client and udp_server: echo over IPv4 and IPv6 through one [::] socket, the "
      "stranger refused alone, a closed port refused at once, SIGTERM stops the server")
