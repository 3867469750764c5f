#!/usr/bin/env python3
"""dtlscat as a user drives it, over UDP on loopback: one case per meson test.

usage: dtlscat_test.py DTLSCAT CASE

Each case prints "PASS: CASE: what it showed" and exits 0, or prints "FAIL: CASE: why" with the
output of every process it started and exits 1. Processes are bounded by timeouts and killed
(by their own pid) when the case ends.
"""
import os
import re
import select
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

DTLSCAT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ""
CASE = sys.argv[2] if len(sys.argv) > 2 else ""
WORK = tempfile.mkdtemp(prefix="dtlscat-test.")
PROCS = []


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Proc:
    """A dtlscat (or other) process with stdin as a pipe and stdout/stderr collected by threads."""

    def __init__(self, name, args, env=None, stdin=True):
        self.name = name
        self.args = args
        self.out, self.err = [], []
        self.lock = threading.Lock()
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=WORK,
                                  env=env)
        PROCS.append(self)
        for stream, lines in ((self.p.stdout, self.out), (self.p.stderr, self.err)):
            threading.Thread(target=self._collect, args=(stream, lines), daemon=True).start()

    def _collect(self, stream, lines):
        for raw in iter(stream.readline, b""):
            with self.lock:
                lines.append(raw.decode(errors="replace").rstrip("\n"))

    def lines(self, which):
        with self.lock:
            return list(self.out if which == "out" else self.err)

    def wait_for(self, which, pattern, timeout=10):
        """The first match of pattern (re.search) in stdout or stderr, or a failure."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines(which):
                m = re.search(pattern, line)
                if m:
                    return m
            if self.p.poll() is not None:
                time.sleep(0.1)  # the collector threads finish reading
                for line in self.lines(which):
                    m = re.search(pattern, line)
                    if m:
                        return m
                raise Failure(f"{self.name} exited {self.p.returncode} without printing "
                              f"/{pattern}/ on {which}")
            time.sleep(0.02)
        raise Failure(f"{self.name} did not print /{pattern}/ on {which} within {timeout} s")

    def send(self, data):
        """Writes to stdin; a process that stopped reading (it refused the input) is fine."""
        try:
            self.p.stdin.write(data if isinstance(data, bytes) else data.encode())
            self.p.stdin.flush()
        except BrokenPipeError:
            pass

    def close_stdin(self):
        self.p.stdin.close()

    def wait(self, timeout=10):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"{self.name} still running after {timeout} s")

    def running(self):
        return self.p.poll() is None

    def dump(self):
        print(f"---- {self.name}: {' '.join(self.args)} (exit {self.p.poll()})")
        for line in self.lines("out"):
            print(f"  out| {line}")
        for line in self.lines("err"):
            print(f"  err| {line}")


def run(args, env=None, timeout=30):
    """Runs dtlscat to completion: (exit status, stdout, stderr)."""
    r = subprocess.run([DTLSCAT] + args, capture_output=True, text=True, cwd=WORK, env=env,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def identity(name):
    """Makes NAME.pem and NAME.key with dtlscat; returns its fingerprint."""
    rc, out, err = run(["--generate-identity", f"{name}.pem", f"{name}.key"])
    check(rc == 0, f"--generate-identity {name} exited {rc}: {err}")
    return out.strip()


def server(name, *args, env=None):
    """Starts dtlscat -l ARGS 127.0.0.1 0; returns (process, port)."""
    p = Proc(name, [DTLSCAT, "-l", *args, "127.0.0.1", "0"], env=env)
    port = int(p.wait_for("err", r"^listening on 127\.0\.0\.1:(\d+)$").group(1))
    return p, port


def client(name, port, *args, env=None, host="127.0.0.1"):
    return Proc(name, [DTLSCAT, *args, host, str(port)], env=env)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_way_relay(port):
    """A UDP relay to 127.0.0.1:port that passes every datagram to the server but only the
    first one back; returns its port. It runs on a daemon thread until the test ends."""
    relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    relay.bind(("127.0.0.1", 0))
    upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    upstream.connect(("127.0.0.1", port))

    def run():
        peer, back = None, 0
        while True:
            ready, _, _ = select.select([relay, upstream], [], [], 30)
            if not ready:
                return
            if relay in ready:
                data, peer = relay.recvfrom(65536)
                upstream.send(data)
            if upstream in ready:
                data = upstream.recv(65536)
                if back == 0 and peer:
                    relay.sendto(data, peer)
                back += 1

    threading.Thread(target=run, daemon=True).start()
    return relay.getsockname()[1]


def ids():
    """The usual cast: a server and a client identity, and the arguments that pin each other."""
    s_fp, c_fp = identity("server"), identity("client")
    srv = ["--cert", "server.pem", "--key", "server.key", "--peer-fingerprint", c_fp]
    cli = ["--cert", "client.pem", "--key", "client.key", "--peer-fingerprint", s_fp]
    return srv, cli, s_fp, c_fp


# ---- cases -----------------------------------------------------------------------------------

def case_help():
    """--help lists every option dtlscat parses and the exit statuses; -h and --version too."""
    rc, out, err = run(["--help"])
    check(rc == 0 and err == "", f"--help exited {rc}, stderr {err!r}")
    for option in ["-l, --listen", "-k, --keep-open", "-v, --verbose", "-h, --help",
                   "-V, --version", "--cert=FILE", "--key=FILE", "--peer-fingerprint=FP",
                   "--dangerous-accept-any-peer", "--srtp=PROFILES", "--require-srtp",
                   "--mtu=N", "--initial-rto=MS", "--handshake-timeout=S", "--keylog=FILE",
                   "--force", "--generate-identity", "--print-fingerprint", "-4, -6",
                   "SSLKEYLOGFILE", "UDP payload", "1472"]:
        check(option in out, f"--help does not mention {option}")
    for status in ["0 clean close", "1 handshake or verification failure", "2 usage",
                   "3 file, address or", "4 a line too long", "5 the association"]:
        check(status in out, f"--help does not list exit status '{status}'")
    check(run(["-h"])[1] == out, "-h differs from --help")
    rc, out, _ = run(["--version"])
    check(rc == 0 and re.fullmatch(r"dtlscat \(dtlspp\) \d+\.\d+\.\d+\n", out),
          f"--version printed {out!r} (exit {rc})")
    return "--help lists 21 options and the six exit statuses; -h and --version work"


def case_usage():
    """Usage errors: one line naming the option as typed, the hint, exit 2."""
    pin = ["--dangerous-accept-any-peer"]
    table = [
        (["--mtu=100", *pin, "h", "1"], "--mtu: 100 is out of range (256 to 65507)"),
        (["--mtu", "99999999999999999999999", *pin, "h", "1"],
         "--mtu: 99999999999999999999999 is out of range (256 to 65507)"),
        (["--mt=70000", *pin, "h", "1"], "--mt: 70000 is out of range (256 to 65507)"),
        (["--mtu=12a", *pin, "h", "1"], "--mtu needs a number, got '12a'"),
        (["--initial-rto=5", *pin, "h", "1"], "--initial-rto: 5 is out of range (20 to 60000)"),
        (["--handshake-timeout", "0", *pin, "h", "1"],
         "--handshake-timeout: 0 is out of range (1 to 3600)"),
        ([*pin, "h", "0"], "PORT: 0 is out of range (1 to 65535)"),
        ([*pin, "h", "65536"], "PORT: 65536 is out of range (1 to 65535)"),
        (["-l", *pin, "65536"], "PORT: 65536 is out of range (0 to 65535)"),
        ([*pin, "h", "https"], "PORT needs a number, got 'https'"),
        (["--cert", "c.pem", *pin, "h", "1"], "--cert needs --key"),
        (["--key", "k.pem", *pin, "h", "1"], "--key needs --cert"),
        (["-k", *pin, "h", "1"], "-k needs -l"),
        (["--nope", "h", "1"], "unknown option --nope"),
        (["-lx", "1"], "unknown option -x"),
        (["h", "1", "--mtu"], "--mtu needs a value"),
        (["h", "1"], "give --peer-fingerprint FP (or --dangerous-accept-any-peer)"),
        ([*pin, "h"], "a client needs HOST PORT"),
        (["--peer-fingerprint=sha-256 AB", "h", "1"],
         "--peer-fingerprint: not a fingerprint: 'sha-256 AB' (expected 'sha-256 AB:CD:...', "
         "32 hex pairs)"),
        (["--srtp=SRTP_NOPE", *pin, "h", "1"], "--srtp: unknown SRTP profile 'SRTP_NOPE'"),
        (["--require-srtp", *pin, "h", "1"], "--require-srtp needs --srtp"),
        (["--generate-identity", "only-one.pem"], "--generate-identity needs CERT KEY"),
    ]
    for args, message in table:
        rc, out, err = run(args)
        check(rc == 2, f"{args}: exit {rc}, expected 2 ({err!r})")
        check(err == f"dtlscat: {message}\ntry 'dtlscat --help'\n",
              f"{args}: stderr {err!r}, expected 'dtlscat: {message}' and the hint")
        check(out == "", f"{args}: printed {out!r} on stdout")
    # Bundled short flags and --opt=value parse: -lkv starts a server.
    p = Proc("bundled", [DTLSCAT, "-lkv", "--mtu=1472", "--dangerous-accept-any-peer",
                         "127.0.0.1", "0"])
    p.wait_for("err", r"^listening on 127\.0\.0\.1:\d+$")
    p.p.terminate()
    check(p.wait() == 128 + signal.SIGTERM, f"-lkv server: SIGTERM gave exit {p.p.returncode}")
    return f"{len(table)} usage errors exit 2 with one line and the hint; -lkv and --mtu=1472 parse"


def case_identity():
    """--generate-identity, --force, --print-fingerprint, the accepted fingerprint forms, and
    file errors with the system's reason."""
    os.umask(0)
    fp = identity("me")
    check(re.fullmatch(r"sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}", fp), f"printed {fp!r}")
    check(stat.S_IMODE(os.stat(f"{WORK}/me.key").st_mode) == 0o600, "the key is not 0600")
    ossl = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                           f"{WORK}/me.pem"], capture_output=True, text=True)
    check(ossl.returncode == 0, f"openssl x509: {ossl.stderr}")
    ossl_fp = ossl.stdout.strip()  # "SHA256 Fingerprint=AB:..." (sha256 in some versions)
    check(ossl_fp.split("=", 1)[1] == fp.split(" ", 1)[1], f"openssl says {ossl_fp}, dtlscat {fp}")
    rc, out, err = run(["--print-fingerprint", "me.pem"])
    check(rc == 0 and out.strip() == fp and err == "", f"--print-fingerprint: {rc} {out!r} {err!r}")

    before = open(f"{WORK}/me.pem").read()
    rc, out, err = run(["--generate-identity", "me.pem", "me.key"])
    check(rc == 3 and err == "dtlscat: cannot write me.pem: File exists\n" and out == "",
          f"overwrite without --force: exit {rc}, {err!r}")
    check(open(f"{WORK}/me.pem").read() == before, "the certificate changed without --force")
    os.chmod(f"{WORK}/me.key", 0o644)
    rc, out, err = run(["--generate-identity", "--force", "me.pem", "me.key"])
    check(rc == 0 and out.strip() != fp, f"--force: exit {rc} {out!r} {err!r}")
    check(stat.S_IMODE(os.stat(f"{WORK}/me.key").st_mode) == 0o600, "--force left the key 0644")

    os.mkdir(f"{WORK}/adir")
    for args, message in [
        (["--cert", "adir", "--key", "me.key"], "cannot read adir: Is a directory"),
        (["--cert", "me.pem", "--key", "missing.key"],
         "cannot read missing.key: No such file or directory"),
        (["--keylog", "adir/no/such"], "cannot open adir/no/such: No such file or directory"),
    ]:
        rc, out, err = run([*args, "--dangerous-accept-any-peer", "127.0.0.1", "9"])
        check(rc == 3 and err.endswith(f"dtlscat: {message}\n"),
              f"{args}: exit {rc}, stderr {err!r}, expected 'dtlscat: {message}', exit 3")
    rc, _, err = run(["--print-fingerprint", "adir"])
    check(rc == 3 and err == "dtlscat: cannot read adir: Is a directory\n", f"{rc} {err!r}")
    unreadable = "an unreadable file refused" if os.geteuid() != 0 else \
        "(root: the unreadable-file check cannot apply)"
    if os.geteuid() != 0:
        open(f"{WORK}/locked.pem", "w").close()
        os.chmod(f"{WORK}/locked.pem", 0)
        rc, _, err = run(["--print-fingerprint", "locked.pem"])
        check(rc == 3 and "cannot read locked.pem: Permission denied" in err, f"{rc} {err!r}")

    # The forms of --peer-fingerprint a user pastes: openssl's, and sha256 without a hyphen.
    srv, cli, s_fp, c_fp = ids()
    hexpart = s_fp.split(" ", 1)[1]
    for form in [f"SHA256 Fingerprint={hexpart}", f"sha256 {hexpart.lower()}",
                 f"a=fingerprint:{s_fp}"]:
        s, port = server("server", *srv)
        c = client("client", port, "--cert", "client.pem", "--key", "client.key",
                   "--peer-fingerprint", form)
        c.wait_for("err", r"^handshake complete: ")
        c.close_stdin()
        check(c.wait() == 0, f"client pinned with {form!r} exited {c.p.returncode}")
        check(s.wait() == 0, f"server exited {s.p.returncode}")
    return ("fingerprint on stdout, key 0600, EEXIST without --force, --force, "
            f"--print-fingerprint = openssl, 4 file errors with reasons {unreadable}, "
            "3 fingerprint forms")


def case_line_too_long():
    """A stdin line longer than one record is refused as soon as it grows past the limit (no
    newline, stdin still open), with close_notify and exit 4, on either side."""
    srv, cli, _, _ = ids()
    # Client side.
    s, port = server("server", *srv, "--mtu", "600")
    c = client("client", port, *cli, "--mtu", "600")
    c.wait_for("err", r"^handshake complete: ")
    c.send("short line\n")
    s.wait_for("out", r"^short line$")
    c.send("x" * 100000)  # no newline, stdin stays open: refused on size alone
    check(c.wait(5) == 4, f"client exited {c.p.returncode} on a too-long line, expected 4")
    m = c.wait_for("err", r"^error: a line of (at least )?(\d+) bytes does not fit one record "
                          r"\(at most (\d+) bytes at MTU 600\)$")
    check(int(m.group(2)) <= int(m.group(3)) + 2, f"refused only at {m.group(2)} bytes")
    s.wait_for("err", r"^127\.0\.0\.1:\d+: closed$")
    check(s.wait() == 0, f"server exited {s.p.returncode} after the client's close_notify")
    check(not any("x" * 100 in line for line in s.lines("out")), "part of the long line was sent")
    # Server side.
    s, port = server("server2", *srv)
    c = client("client2", port, *cli)
    s.wait_for("err", r": handshake complete: ")
    s.send("y" * 70000 + "\n")
    check(s.wait(5) == 4, f"server exited {s.p.returncode} on a too-long line, expected 4")
    check(c.wait(5) == 0, f"client exited {c.p.returncode} after the server's close_notify")
    c.wait_for("err", r"^closed$")
    return "client and server refuse at the record limit (MTU 600 and 1200), exit 4, peer closed"


def case_keylog():
    """--keylog FILE and SSLKEYLOGFILE: one CLIENT_RANDOM line per handshake, the same on both
    sides, in a file only its owner reads."""
    srv, cli, _, _ = ids()
    env = dict(os.environ, SSLKEYLOGFILE=f"{WORK}/env.keys")
    s, port = server("server", *srv, "--keylog", "flag.keys")
    c = client("client", port, *cli, env=env)
    c.wait_for("err", r"^handshake complete: ")
    c.close_stdin()
    check(c.wait() == 0 and s.wait() == 0, "the session did not end cleanly")
    lines = {}
    for name in ["flag.keys", "env.keys"]:
        path = f"{WORK}/{name}"
        check(os.path.exists(path), f"{name} was not written")
        check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, f"{name} is readable by others")
        lines[name] = open(path).read().splitlines()
        check(len(lines[name]) == 1 and re.fullmatch(r"CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}",
                                                     lines[name][0]),
              f"{name} holds {lines[name]!r}")
    check(lines["flag.keys"] == lines["env.keys"], "the two sides logged different secrets")
    # --keylog wins over SSLKEYLOGFILE.
    s, port = server("server2", *srv, env=dict(os.environ, SSLKEYLOGFILE=f"{WORK}/unused.keys"))
    c = client("client2", port, *cli, "--keylog", "env.keys")
    c.wait_for("err", r"^handshake complete: ")
    c.close_stdin()
    check(c.wait() == 0 and s.wait() == 0, "the second session did not end cleanly")
    check(len(open(f"{WORK}/env.keys").read().splitlines()) == 2, "--keylog did not append")
    check(len(open(f"{WORK}/unused.keys").read().splitlines()) == 1, "server's env log: 1 line")
    return "--keylog and SSLKEYLOGFILE write the same CLIENT_RANDOM line, 0600, appended"


def case_listen_keep_open():
    """-l -k: three clients at once, lines both ways, a stranger refused, one client leaving,
    and SIGTERM closing the rest."""
    srv, cli, s_fp, _ = ids()
    identity("stranger")
    s, port = server("server", *srv, "-k")
    clients = [client(f"client{i}", port, *cli) for i in range(3)]
    addresses = []
    for c in clients:
        c.wait_for("err", r"^handshake complete: ")
    for i in range(3):
        addresses.append(s.wait_for("err", r"^(127\.0\.0\.1:\d+): handshake complete: cipher=")
                         .group(1))
    check(len(set(line.split(":")[1] for line in s.lines("err")
                  if ": handshake complete: " in line)) == 3, "the server did not see 3 ports")
    for i, c in enumerate(clients):
        c.send(f"from client {i}\n")
    for i in range(3):
        s.wait_for("out", f"^from client {i}$")
    s.send("to everyone\n")
    for c in clients:
        c.wait_for("out", "^to everyone$")
    stranger = client("stranger", port, "--cert", "stranger.pem", "--key", "stranger.key",
                      "--peer-fingerprint", s_fp)
    check(stranger.wait() == 1, f"the stranger exited {stranger.p.returncode}, expected 1")
    s.wait_for("err", r"^127\.0\.0\.1:\d+: error: fingerprint mismatch: expected ")
    clients[0].close_stdin()
    check(clients[0].wait() == 0, "client 0 did not close cleanly")
    s.send("after one left\n")
    for c in clients[1:]:
        c.wait_for("out", "^after one left$")
    check(s.running(), "the server ended")
    s.p.terminate()
    check(s.wait() == 128 + signal.SIGTERM, f"SIGTERM: server exited {s.p.returncode}")
    for c in clients[1:]:
        check(c.wait() == 0, f"{c.name} exited {c.p.returncode} after the server's close_notify")
    return "3 clients at once, lines both ways, stranger refused, one left, SIGTERM closed the rest"


def case_listen_one():
    """-l without -k: a stranger and a silent peer end nothing; one client is served, a second
    is refused while it is; the first one's end ends dtlscat with its status."""
    srv, cli, s_fp, _ = ids()
    identity("stranger")
    s, port = server("server", *srv, "--handshake-timeout", "2")
    stranger = client("stranger", port, "--cert", "stranger.pem", "--key", "stranger.key",
                      "--peer-fingerprint", s_fp)
    check(stranger.wait() == 1, f"the stranger exited {stranger.p.returncode}, expected 1")
    s.wait_for("err", r"^127\.0\.0\.1:\d+: error: fingerprint mismatch")
    # A silent peer: a client behind a relay that passes the HelloVerifyRequest and nothing
    # after it, so the client's cookie ClientHello makes a half-open session on the server,
    # which never hears more and ends at its handshake deadline.
    relay = one_way_relay(port)
    silent = client("silent", relay, *cli, "--handshake-timeout", "3")
    s.wait_for("err", r"^127\.0\.0\.1:\d+: error: .*(handshake|timed out)", timeout=8)
    check(silent.wait(5) == 1, f"the silent client exited {silent.p.returncode}, expected 1")
    check(s.running(), "the server ended after a stranger and a silent peer")
    first = client("first", port, *cli)
    first.wait_for("err", r"^handshake complete: ")
    second = client("second", port, *cli)
    # The second one is refused when its certificate is checked: a bad_certificate alert.
    s.wait_for("err", r"^127\.0\.0\.1:\d+: refused: serving 127\.0\.0\.1:\d+ \(-k serves many\)$")
    check(second.wait() == 1, f"the refused client exited {second.p.returncode}, expected 1")
    second.wait_for("err", r"^error: peer sent fatal alert bad certificate")
    first.send("still served\n")
    s.wait_for("out", "^still served$")
    first.close_stdin()
    check(first.wait() == 0, f"first client exited {first.p.returncode}")
    check(s.wait() == 0, f"the server exited {s.p.returncode} when its client closed, expected 0")
    return "stranger, silent peer (deadline 2 s) and a second client refused; the first one served"


def case_refused():
    """A client to a port where nothing listens ends at once: exit 3, the system's reason."""
    port = free_port()
    start = time.monotonic()
    rc, out, err = run(["--dangerous-accept-any-peer", "127.0.0.1", str(port)])
    took = time.monotonic() - start
    check(rc == 3, f"exit {rc}, expected 3: {err!r}")
    check(f"error: 127.0.0.1:{port}: Connection refused" in err, f"stderr {err!r}")
    check(took < 3, f"took {took:.1f} s (the handshake deadline is 30 s)")
    return f"exit 3 after {took * 1000:.0f} ms with 'Connection refused'"


def case_readme():
    """The README's dtlscat example, as written: identities in files, the same --srtp."""
    readme = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                               "README.md")).read()
    section = readme.split("## dtlscat: netcat for DTLS", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    check(len(commands) >= 4, f"the README block has {len(commands)} commands")
    env = dict(os.environ, PATH=os.path.dirname(DTLSCAT) + os.pathsep + os.environ["PATH"])
    port = str(free_port())
    for command in commands[:2]:  # the identities and their fingerprints
        check(subprocess.run(["bash", "-c", "set -e; " + command], cwd=WORK, env=env).returncode
              == 0, f"README command failed: {command}")
    procs = []
    for command in commands[2:4]:
        procs.append(subprocess.Popen(["bash", "-c", command.replace("4433", port)], cwd=WORK,
                                      env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
        time.sleep(0.3)
    srv, cli = procs
    cerr = cli.communicate(input="hello from the README client\n", timeout=15)[1]
    out, err = srv.communicate(timeout=15)
    check(srv.returncode == 0 and cli.returncode == 0,
          f"server exited {srv.returncode} ({err!r}), client {cli.returncode} ({cerr!r})")
    check("hello from the README client" in out, f"the server printed {out!r}")
    keys = [re.search(r"srtp keying material: ([0-9A-F]+)", e).group(1) for e in (err, cerr)]
    check(keys[0] == keys[1], "the two sides exported different SRTP keys")
    return f"the README's {len(commands)} commands work; SRTP keys agree"


CASES = {name[5:]: f for name, f in globals().items() if name.startswith("case_")}


def main():
    if CASE not in CASES:
        print(f"usage: dtlscat_test.py DTLSCAT {{{','.join(CASES)}}}")
        return 2
    if not os.access(DTLSCAT, os.X_OK):
        print(f"FAIL: {CASE}: {DTLSCAT!r} is not an executable dtlscat")
        return 1
    try:
        what = CASES[CASE]()
        print(f"PASS: {CASE}: {what}")
        return 0
    except (Failure, subprocess.TimeoutExpired, AttributeError) as e:
        print(f"FAIL: {CASE}: {e}")
        for p in PROCS:
            p.dump()
        return 1
    finally:
        for p in PROCS:
            if p.running():
                try:
                    os.kill(p.p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.p.wait()
        subprocess.run(["rm", "-rf", WORK])


if __name__ == "__main__":
    sys.exit(main())
