#!/usr/bin/env python3
"""Draws docs/handshake.svg from a real `dtlscat -v` trace of a DTLS 1.2 handshake.

    docs/make-handshake-svg.py --dtlscat BUILD/tools/dtlscat [--out docs/handshake.svg]
                               [--trace docs/handshake-trace.txt]

It runs two dtlscat processes on 127.0.0.1: the client first, while nothing listens on the port,
so that its first ClientHello is lost; then the server, 300 ms later. The client's retransmission
timer (--initial-rto 400) fires and resends the ClientHello; the server, a dtlspp::listener,
answers with a HelloVerifyRequest (stateless cookie, RFC 6347 section 4.2.1), and the handshake
completes. Each side then sends one line and the client closes.

dtlscat -v prints one stderr line per datagram ("-> ADDR 155 B: handshake(e0 s0 client_hello
0+130/130)" when sent, "<-" when received). Each sent datagram is paired with the same datagram
received by the other side; one never received is drawn as lost. A datagram that repeats an
earlier one of the same side, but for its record sequence number, is a retransmission. The raw
trace is written next to the SVG so that the picture can be checked against it.
"""
import argparse
import html
import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

LINE = re.compile(r"^(->|<-) (\S+) (\d+) B: (.*)$")
RECORD = re.compile(r"(\w+)\(e(\d+) s(\d+) ([^)]*)\)")

MESSAGE_NAMES = {
    "client_hello": "ClientHello",
    "hello_verify_request": "HelloVerifyRequest",
    "server_hello": "ServerHello",
    "certificate": "Certificate",
    "server_key_exchange": "ServerKeyExchange",
    "certificate_request": "CertificateRequest",
    "server_hello_done": "ServerHelloDone",
    "client_key_exchange": "ClientKeyExchange",
    "certificate_verify": "CertificateVerify",
}


@dataclass
class datagram:
    side: str  # "client" or "server": who sent it
    t: float  # seconds, when the sender's trace line was read
    size: int
    desc: str  # the trace's description of its records
    received_at: float | None = None
    labels: list = field(default_factory=list)
    retransmission: bool = False
    flight: int | None = None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class traced:
    """A dtlscat process whose stderr lines are collected with the time they arrived."""

    def __init__(self, name, argv, t0):
        self.name = name
        self.lines = []  # (t, line)
        self.t0 = t0
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.out = []
        self.out_reader = threading.Thread(target=self._read_out, daemon=True)
        self.out_reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append((time.monotonic() - self.t0, line.rstrip("\n")))

    def _read_out(self):
        for line in self.proc.stdout:
            self.out.append(line.rstrip("\n"))

    def wait_for(self, text, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(text in line for _, line in self.lines):
                return
            if self.proc.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.01)
        raise SystemExit(f"{self.name}: no '{text}' in its trace:\n" +
                         "\n".join(line for _, line in self.lines))

    def send_line(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout=10.0):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout=timeout)
        self.reader.join(timeout=2)
        self.out_reader.join(timeout=2)


def run(dtlscat, rto_ms):
    port = free_port()
    t0 = time.monotonic()
    common = ["-v", "--dangerous-accept-any-peer"]
    client = traced("client", [dtlscat, *common, "--initial-rto", str(rto_ms), "127.0.0.1",
                               str(port)], t0)
    client.wait_for("connecting to")
    time.sleep(0.3)  # the client's first ClientHello goes to a port nobody listens on yet
    server_started = time.monotonic() - t0
    server = traced("server", [dtlscat, "-l", *common, "127.0.0.1", str(port)], t0)
    client.wait_for("handshake complete")
    server.wait_for("handshake complete")
    server.send_line("hello from the server")
    time.sleep(0.1)
    client.send_line("hello from the client")
    time.sleep(0.05)
    client.finish()  # EOF: close_notify
    server.finish()
    if client.proc.returncode != 0 or server.proc.returncode != 0:
        raise SystemExit(f"dtlscat exited {client.proc.returncode} (client), "
                         f"{server.proc.returncode} (server)")
    return client, server, server_started, port


def parse(client, server):
    sent, received = [], {"client": [], "server": []}
    for proc in (client, server):
        for t, line in proc.lines:
            m = LINE.match(line)
            if not m:
                continue
            direction, _, size, desc = m.groups()
            if direction == "->":
                sent.append(datagram(proc.name, t, int(size), desc))
            else:
                received[proc.name].append([t, int(size), desc, False])
    sent.sort(key=lambda d: d.t)
    for d in sent:
        other = "server" if d.side == "client" else "client"
        for r in received[other]:
            if not r[3] and r[1] == d.size and r[2] == d.desc:
                r[3] = True
                d.received_at = r[0]
                break
    return sent


def label(desc):
    """Message names for a datagram's records, from dtlscat's description."""
    names = []
    for kind, epoch, _seq, rest in RECORD.findall(desc):
        if kind == "handshake" and epoch == "0":
            names.append(MESSAGE_NAMES.get(rest.split()[0], rest.split()[0]))
        elif kind == "handshake":
            names.append("Finished")  # the only encrypted handshake message of DTLS 1.2
        elif kind == "change_cipher_spec":
            names.append("ChangeCipherSpec")
        elif kind == "application_data":
            names.append("application data (" + rest + " encrypted)")
        elif kind == "alert" and epoch != "0":
            names.append("alert, encrypted: close_notify")
        else:
            names.append(f"{kind} ({rest})")
    return names


def annotate(sent):
    seen = {"client": [], "server": []}
    flight, last_side = 0, None
    cookie = False
    for d in sent:
        d.labels = label(d.desc)
        if cookie and d.labels and d.labels[0] == "ClientHello":
            d.labels[0] = "ClientHello + cookie"
        cookie = cookie or "HelloVerifyRequest" in d.labels
        key = re.sub(r" s\d+ ", " s? ", d.desc)
        d.retransmission = key in seen[d.side]
        seen[d.side].append(key)
        handshake = "handshake(" in d.desc or "change_cipher_spec(" in d.desc
        if handshake and not d.retransmission and d.side != last_side:
            flight += 1
            last_side = d.side
        if handshake:
            d.flight = flight
    return sent


def svg(sent, server_started, port, trace_name):
    width, cx, sx = 980, 190, 800
    # When the client sent its close_notify, after which it exits (dtlscat ends at end of input).
    client_closed = max((d.t for d in sent if d.side == "client"), default=None)

    def why_lost(d):
        if d.side == "client" and d.t < server_started:
            return "nobody listens yet"
        if d.side == "server" and client_closed is not None and d.t >= client_closed:
            return "the client has exited"
        return "dropped on the way"

    top, y = 110, 110
    out = []
    add = out.append
    rows = []
    # Rows: datagrams in the order they were sent, with notes where time passes.
    events = [("dg", d.t, d) for d in sent] + [("listen", server_started, None)]
    events.sort(key=lambda e: e[1])
    t_first = sent[0].t
    prev_t = None
    for kind, t, d in events:
        if kind == "listen":
            rows.append(("listen", t, None, 34))
            continue
        if prev_t is not None and t - prev_t > 0.15 and d.retransmission:
            rows.append(("timer", t, (prev_t, t), 44))
        lines = wrap(d.labels)
        rows.append(("dg", t, d, 30 + 16 * len(lines)))
        prev_t = t
    height = top + sum(r[3] for r in rows) + 120

    add(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" '
        f'font-size="13">')
    add(f"<!-- Generated by docs/make-handshake-svg.py from a dtlscat -v trace "
        f"({html.escape(trace_name)}); do not edit by hand. -->")
    add('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#222"/></marker><marker id="arrow-lost" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#b22"/></marker></defs>')
    add(f'<rect width="{width}" height="{height}" fill="white"/>')
    add(f'<text x="{width / 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold">'
        "A DTLS 1.2 handshake with a lost ClientHello, as dtlscat -v traced it</text>")
    add(f'<text x="{width / 2}" y="50" text-anchor="middle" fill="#555">two dtlscat processes on '
        f"127.0.0.1:{port}; times from the first datagram; flights as in RFC 6347 section "
        "4.2.4</text>")
    for x, name in ((cx, "client (dtlspp::session)"), (sx, "server (dtlspp::listener)")):
        add(f'<rect x="{x - 105}" y="66" width="210" height="28" rx="4" fill="#eef3fb" '
            f'stroke="#335"/>')
        add(f'<text x="{x}" y="85" text-anchor="middle" font-weight="bold">{name}</text>')

    # Lifelines: the server's is dashed until it starts listening.
    listen_y = top + sum(r[3] for r in rows[:[r[0] for r in rows].index("listen")]) + 17
    add(f'<line x1="{cx}" y1="94" x2="{cx}" y2="{height - 85}" stroke="#335" '
        f'stroke-width="2"/>')
    add(f'<line x1="{sx}" y1="94" x2="{sx}" y2="{listen_y}" stroke="#aab" stroke-width="2" '
        f'stroke-dasharray="4 5"/>')
    add(f'<line x1="{sx}" y1="{listen_y}" x2="{sx}" y2="{height - 85}" stroke="#335" '
        f'stroke-width="2"/>')

    for kind, t, d, h in rows:
        if kind == "listen":
            add(f'<circle cx="{sx}" cy="{y + 17}" r="5" fill="#335"/>')
            add(f'<text x="{sx - 12}" y="{y + 21}" text-anchor="end" fill="#335" '
                f'font-style="italic">server starts, listening ({ms(t - t_first)})</text>')
        elif kind == "timer":
            t_lost, t_again = d
            add(f'<path d="M{cx - 18},{y + 4} h-8 v{h - 8} h8" fill="none" stroke="#b60" '
                f'stroke-width="1.5"/>')
            add(f'<text x="{cx - 32}" y="{y + h / 2 - 2}" text-anchor="end" fill="#b60">'
                f"retransmission timer</text>")
            add(f'<text x="{cx - 32}" y="{y + h / 2 + 14}" text-anchor="end" fill="#b60">'
                f"fires after {ms(t_again - t_lost)}</text>")
        else:
            draw_datagram(add, d, y, h, cx, sx, t_first, why_lost)
        y += h

    footer = [
        "Each arrow is one UDP datagram, with its payload size; the names are the DTLS records in "
        "it.",
        "Encrypted records (epoch 1) show no content in the trace: the epoch-1 handshake message "
        "is Finished,",
        "and the alerts are the close_notify dtlscat sends at the end of its input, and the "
        "server's reply.",
    ]
    for i, text in enumerate(footer):
        add(f'<text x="20" y="{height - 62 + 16 * i}" fill="#555" font-size="12">'
            f"{html.escape(text)}</text>")
    add("</svg>")
    return "\n".join(out) + "\n"


def wrap(labels, limit=62):
    lines, line = [], ""
    for i, name in enumerate(labels):
        piece = name + ("," if i < len(labels) - 1 else "")
        if line and len(line) + 1 + len(piece) > limit:
            lines.append(line)
            line = piece
        else:
            line = (line + " " + piece).strip()
    lines.append(line)
    return lines


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def draw_datagram(add, d, y, h, cx, sx, t_first, why_lost):
    from_x, to_x = (cx, sx) if d.side == "client" else (sx, cx)
    lines = wrap(d.labels)
    y_arrow = y + 16 * len(lines) + 10
    lost = d.received_at is None
    colour = "#b22" if lost else "#222"
    mid = (cx + sx) / 2
    for i, text in enumerate(lines):
        add(f'<text x="{mid}" y="{y + 16 + 16 * i}" text-anchor="middle" fill="{colour}">'
            f"{html.escape(text)}</text>")
    if lost:
        end_x = from_x + (to_x - from_x) * 0.62
        add(f'<line x1="{from_x}" y1="{y_arrow}" x2="{end_x}" y2="{y_arrow + 8}" '
            f'stroke="{colour}" stroke-width="1.6" stroke-dasharray="6 4"/>')
        add(f'<path d="M{end_x - 7},{y_arrow + 1} l14,14 M{end_x + 7},{y_arrow + 1} l-14,14" '
            f'stroke="{colour}" stroke-width="2.5"/>')
        toward_right = to_x > from_x
        add(f'<text x="{end_x + (14 if toward_right else -14)}" y="{y_arrow + 13}" '
            f'text-anchor="{"start" if toward_right else "end"}" fill="{colour}" '
            f'font-style="italic">lost: {why_lost(d)}</text>')
    else:
        add(f'<line x1="{from_x}" y1="{y_arrow}" x2="{to_x}" y2="{y_arrow + 8}" '
            f'stroke="{colour}" stroke-width="1.6" marker-end="url(#arrow)"/>')
    size_x = from_x + (14 if from_x < to_x else -14)
    anchor = "start" if from_x < to_x else "end"
    add(f'<text x="{size_x}" y="{y_arrow - 4}" text-anchor="{anchor}" fill="#555" '
        f'font-size="11">{d.size} B</text>')
    # Left margin: time; right margin: flight.
    add(f'<text x="20" y="{y_arrow + 4}" fill="#555" font-size="12">{ms(d.t - t_first)}</text>')
    notes = []
    if d.flight is not None:
        notes.append(f"flight {d.flight}")
    if d.retransmission:
        notes.append("retransmitted")
    if notes:
        add(f'<text x="{sx + 22}" y="{y_arrow + 4}" fill="{"#b60" if d.retransmission else "#555"}"'
            f' font-size="12">{", ".join(notes)}</text>')


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtlscat", required=True, help="path to a built tools/dtlscat")
    ap.add_argument("--out", default=os.path.join(here, "handshake.svg"))
    ap.add_argument("--trace", default=os.path.join(here, "handshake-trace.txt"))
    ap.add_argument("--initial-rto", type=int, default=400, help="client timer, ms")
    args = ap.parse_args()

    client, server, server_started, port = run(args.dtlscat, args.initial_rto)
    sent = annotate(parse(client, server))
    lost = [d for d in sent if d.received_at is None]
    again = [d for d in sent if d.retransmission]
    if not lost or not again or sent[0] not in lost:
        raise SystemExit("the trace has no lost first ClientHello and retransmission; is the "
                         "port free? trace:\n" + "\n".join(line for _, line in client.lines))

    with open(args.trace, "w") as f:
        f.write(f"# dtlscat -v traces behind {os.path.basename(args.out)} "
                "(docs/make-handshake-svg.py); seconds since the client started\n")
        for proc in (client, server):
            f.write(f"## {proc.name}\n")
            for t, line in proc.lines:
                line = re.sub(r"sha-256 [0-9A-F:]+", "sha-256 ...", line)
                f.write(f"{t:8.3f}  {line}\n")
    with open(args.out, "w") as f:
        f.write(svg(sent, server_started, port, os.path.basename(args.trace)))
    print(f"wrote {args.out} ({len(sent)} datagrams, {len(lost)} lost, {len(again)} "
          f"retransmitted) and {args.trace}")


if __name__ == "__main__":
    sys.exit(main())
