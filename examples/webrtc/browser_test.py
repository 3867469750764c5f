#!/usr/bin/env python3
"""browser_test: headless Chromium's WebRTC stack against webrtc_server (dtlspp), on 127.0.0.1.

usage: browser_test.py PATH/TO/webrtc_server [SCREENSHOT.png]

1. The positive case, once sending audio (Opus; SRTP_AEAD_AES_128_GCM) and once video (VP8;
   the server restricted to SRTP_AES128_CM_SHA1_80): the page connects; the browser's RTCPeerConnection reaches "connected", its
   getStats show a DTLS transport "connected" whose remote certificate has the server's dtlspp
   fingerprint, and the server authenticated and decrypted at least 50 SRTP packets, with the
   payload type and SSRC the offer announced. A screenshot of the page (audio case) is saved, by
   default beside this script as screenshot.png.
2. The negative case: the server answers with a wrong a=fingerprint; the browser must refuse the
   handshake (connectionState "failed") and the server decrypts nothing.

Chromium (Debian's `chromium`) is installed when missing; where it cannot be, the test says why
and exits 77 (skipped). It is driven through the DevTools protocol over a minimal WebSocket
client (RFC 6455), so this needs nothing beyond the Python standard library. Every process this
starts is killed at exit; everything listens on 127.0.0.1, and Chromium runs with the flags that
keep it off the network.
"""

import atexit
import base64
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
processes = []
temp_dirs = []


def say(*args):
    print("browser_test:", *args, flush=True)


def cleanup():
    # Each process leads its own group (Chromium's helpers included): kill the groups, then wait
    # until they are gone.
    for p in processes:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if p.poll() is None:
            p.wait(timeout=10)
    deadline = time.time() + 10
    for p in processes:
        while time.time() < deadline:
            try:
                os.killpg(p.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
    for d in temp_dirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(cleanup)
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(sig, lambda *_: sys.exit(1))


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.geteuid() != 0:
        say("SKIP: chromium is not installed and this is not root, so it cannot be installed "
            "(apt-get install -y chromium)")
        sys.exit(SKIP)
    if not shutil.which("apt-get"):
        say("SKIP: chromium is not installed and there is no apt-get to install it")
        sys.exit(SKIP)
    say("installing chromium (apt-get install -y chromium)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        for cmd in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]):
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
            if r.returncode != 0:
                say(f"SKIP: cannot install chromium: {' '.join(cmd)} exited {r.returncode}:")
                print(r.stdout[-2000:], r.stderr[-2000:], flush=True)
                sys.exit(SKIP)
    except subprocess.TimeoutExpired:
        say("SKIP: cannot install chromium: apt-get took longer than 180 s")
        sys.exit(SKIP)
    path = shutil.which("chromium")
    if not path:
        say("SKIP: apt-get succeeded but there is no chromium on PATH")
        sys.exit(SKIP)
    return path


class Server:
    """webrtc_server on free ports; its output is kept (and printed on failure)."""

    def __init__(self, binary, *args):
        self.lines = []
        self.proc = subprocess.Popen([binary, "--http-port", "0", "--udp-port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        processes.append(self.proc)
        self.url = None
        found = threading.Event()

        def reader():
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
                if m and not self.url:
                    self.url = m.group(1)
                    found.set()
            found.set()

        threading.Thread(target=reader, daemon=True).start()
        if not found.wait(15) or not self.url:
            raise RuntimeError("webrtc_server did not start:\n" + "\n".join(self.lines))

    def status(self):
        with urllib.request.urlopen(self.url + "status", timeout=5) as r:
            return json.loads(r.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


class WebSocket:
    """A minimal RFC 6455 client: one text message at a time, client frames masked."""

    def __init__(self, url, timeout=30):
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)", url)
        host, port, path = m.group(1), int(m.group(2)), m.group(3)
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("DevTools closed the WebSocket handshake")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"DevTools refused the WebSocket: {head.decode(errors='replace')}")

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("DevTools closed the WebSocket")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def receive(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise RuntimeError("DevTools closed the WebSocket")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if b0 & 0x80:
                    return message.decode()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Browser:
    """Headless Chromium with one page, driven through the DevTools protocol."""

    FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
             "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-default-apps", "--mute-audio", "--window-size=1100,1000",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]

    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="dtlspp-webrtc-chromium-")
        temp_dirs.append(self.profile)
        self.log_path = os.path.join(self.profile, "chromium.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([chromium, *self.FLAGS, f"--user-data-dir={self.profile}",
                                      "about:blank"], stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        processes.append(self.proc)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not (os.path.exists(port_file) and open(port_file).read().count("\n") >= 1):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("Chromium did not start:\n" + self.tail())
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            targets = json.loads(r.read())
        page = next(t for t in targets if t["type"] == "page")
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        self.next_id = 0
        self.version = subprocess.run([chromium, "--version"], capture_output=True,
                                      text=True).stdout.strip()

    def tail(self, n=30):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page exception: {result['exceptionDetails']}")
        return result["result"].get("value")

    def state(self):
        text = self.evaluate("JSON.stringify(window.webrtcState || null)")
        return json.loads(text) if text else None

    def stats(self):
        """All of the peer connection's getStats, as webrtc-internals would show them."""
        return self.evaluate("window.pc ? window.pc.getStats().then(s => JSON.stringify("
                             "Array.from(s.values()))) : '[]'")

    def navigate(self, url):
        self.call("Page.enable")
        self.call("Page.navigate", url=url)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))


def wait_for(what, condition, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    return None


def report(browser, server, title):
    say(f"--- {title}: page state ---")
    try:
        print(json.dumps(browser.state(), indent=1), flush=True)
        say("--- getStats (webrtc-internals) ---")
        for s in json.loads(browser.stats()):
            if s["type"] in ("transport", "candidate-pair", "local-candidate", "remote-candidate",
                             "certificate", "outbound-rtp"):
                print(json.dumps(s), flush=True)
    except Exception as e:  # the report must not hide the failure it reports
        say(f"(cannot read the page: {e})")
    say("--- server log ---")
    print("\n".join(server.lines), flush=True)
    say("--- chromium log (tail) ---")
    print(browser.tail(), flush=True)


def fingerprint_hex(text):
    return text.split(" ", 1)[1].upper() if text else None


def positive(browser, binary, screenshot, kind, *server_args):
    server = Server(binary, *server_args)
    say(f"positive case, sending {kind}: {server.url}?kind={kind} "
        f"({server.lines[1] if len(server.lines) > 1 else ''})")
    browser.navigate(f"{server.url}?kind={kind}")
    failures = []

    def done():
        st, srv = browser.state(), server.status()
        if st and (st.get("error") or st.get("connectionState") == "failed"):
            return st
        rtp = srv.get("srtp", {}).get("rtp_ok", 0)
        if st and st.get("connectionState") == "connected" and st.get("dtlsState") == "connected" \
                and st.get("remoteCertificate") and rtp >= 60:
            return st
        return None

    st = wait_for("connected and 60 SRTP packets", done, 45)
    srv = server.status()
    if st is None:
        st = browser.state()
        failures.append("timed out waiting for connectionState connected and 60 decrypted "
                        "packets")
    server_fp = srv["server_fingerprint"]
    say(f"server fingerprint (dtlspp):  {server_fp}")
    say(f"browser fingerprint (offer):  {st.get('localFingerprint') if st else None}")
    if st:
        rc = st.get("remoteCertificate") or {}
        say(f"browser: connectionState={st.get('connectionState')} "
            f"iceConnectionState={st.get('iceConnectionState')} dtlsState={st.get('dtlsState')} "
            f"dtlsCipher={st.get('dtlsCipher')} srtpCipher={st.get('srtpCipher')}")
        say(f"browser: remote certificate {rc.get('fingerprintAlgorithm')} "
            f"{rc.get('fingerprint')}")
        say(f"browser: sent {st.get('packetsSent')} RTP packets, SSRC {st.get('outboundSsrc')}, "
            f"payload type {st.get('outboundPayloadType')}")
        say(f"browser: RTCDtlsTransport {st.get('dtlsTransportState')}, getRemoteCertificates() "
            f"{st.get('transportCertificate')}")
        if st.get("error"):
            failures.append(f"page error: {st['error']}")
        if st.get("transportCertificate") not in (None, server_fp):
            failures.append(f"RTCDtlsTransport.getRemoteCertificates() is "
                            f"{st.get('transportCertificate')}, not the server's {server_fp}")
        if st.get("connectionState") != "connected":
            failures.append(f"connectionState is {st.get('connectionState')}, not connected")
        if st.get("dtlsState") != "connected":
            failures.append(f"getStats transport dtlsState is {st.get('dtlsState')}")
        if rc.get("fingerprintAlgorithm") != "sha-256" or \
                rc.get("fingerprint") != fingerprint_hex(server_fp):
            failures.append(f"the browser's remote certificate {rc} is not the server's "
                            f"{server_fp}")
    s = srv.get("srtp", {})
    d = srv.get("dtls", {})
    say(f"server: dtls {d.get('state')} {d.get('cipher')} {d.get('srtp_profile')}; browser seen "
        f"as {d.get('peer_fingerprint')}")
    say(f"server: {s.get('rtp_ok')} RTP and {s.get('rtcp_ok')} RTCP packets authenticated and "
        f"decrypted, {s.get('rtp_failed')} + {s.get('rtcp_failed')} failed; payload types "
        f"{s.get('payload_types')} (offer: {s.get('offer_payload_type')} {s.get('offer_rtpmap')}); "
        f"SSRCs {s.get('ssrcs')} (offer: {s.get('offer_ssrcs')})")
    if s.get("rtp_ok", 0) < 50:
        failures.append(f"the server decrypted {s.get('rtp_ok', 0)} RTP packets, fewer than 50")
    if not s.get("payload_type_matches"):
        failures.append("the decrypted payload types are not the offer's")
    if not s.get("ssrc_matches"):
        failures.append("the decrypted SSRCs are not the offer's a=ssrc")
    if st and st.get("outboundSsrc") not in s.get("ssrcs", []):
        failures.append(f"the browser's outbound SSRC {st.get('outboundSsrc')} is not among "
                        f"those the server decrypted")
    if st and st.get("outboundPayloadType") != s.get("offer_payload_type"):
        failures.append(f"the browser sent payload type {st.get('outboundPayloadType')}, not the "
                        f"offer's first, {s.get('offer_payload_type')}")
    if srv.get("kind") != kind:
        failures.append(f"the offer's m-line is {srv.get('kind')}, not {kind}")
    if st and d.get("peer_fingerprint") != st.get("localFingerprint"):
        failures.append("the server saw another certificate than the browser's a=fingerprint")
    if screenshot and not failures:
        time.sleep(1.2)  # let the page render the latest /status
        browser.screenshot(screenshot)
        say(f"screenshot: {screenshot}")
    if failures:
        report(browser, server, f"positive case ({kind}) failed")
    server.stop()
    return failures, srv, st


def negative(browser, binary):
    server = Server(binary, "--wrong-fingerprint")
    say(f"negative case (--wrong-fingerprint): {server.url}")
    browser.navigate(server.url)
    failures = []
    started = time.time()

    def settled():
        st = browser.state()
        if st and st.get("connectionState") in ("failed", "connected", "closed"):
            return st
        if st and st.get("error"):
            return st
        return None

    st = wait_for("failed", settled, 25) or browser.state()
    elapsed = time.time() - started
    time.sleep(1)
    srv = server.status()
    s, d = srv.get("srtp", {}), srv.get("dtls", {})
    say(f"browser: connectionState={st.get('connectionState') if st else None} after "
        f"{elapsed:.1f} s, dtlsState={st.get('dtlsState') if st else None}")
    say(f"server: answered with {srv.get('answer_fingerprint')} (its own is "
        f"{srv.get('server_fingerprint')}); dtls {d.get('state')}: {d.get('error')}")
    say(f"server: {s.get('rtp_ok')} RTP packets decrypted, {s.get('before_keys')} arrived "
        "without keys")
    if not st or st.get("connectionState") != "failed":
        failures.append(f"connectionState is {st.get('connectionState') if st else None}, "
                        "not failed")
    if s.get("rtp_ok", 0) != 0 or s.get("rtcp_ok", 0) != 0:
        failures.append("the server decrypted packets with a wrong fingerprint in the answer")
    if d.get("state") == "connected":
        failures.append("the server's DTLS session connected")
    if failures:
        report(browser, server, "negative case failed")
    server.stop()
    return failures


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    screenshot = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "screenshot.png")
    chromium = find_chromium()
    browser = Browser(chromium)
    say(f"{browser.version} ({chromium}), headless, fake media devices")
    failures, srv, st = positive(browser, binary, screenshot, "audio")
    ice = srv.get("ice", {})
    if failures and ice.get("requests", 0) == 0 and srv.get("offers", 0) > 0:
        # The browser took the answer but never sent one connectivity check to 127.0.0.1: its
        # ICE agent did not pair any local candidate with ours. That is the browser's network
        # policy, not dtlspp; say so rather than fail.
        say("SKIP: Chromium sent no STUN binding request to the server's 127.0.0.1 candidate; "
            "its ICE agent paired no candidate (see the getStats above)")
        return SKIP
    if not failures:
        say("positive case passed (audio)")
        video_failures, srv, _ = positive(browser, binary, None, "video", "--srtp",
                                          "SRTP_AES128_CM_SHA1_80")
        if srv.get("dtls", {}).get("srtp_profile") != "SRTP_AES128_CM_SHA1_80":
            video_failures.append(f"the video case agreed on {srv['dtls'].get('srtp_profile')}, "
                                  "not SRTP_AES128_CM_SHA1_80")
        failures += video_failures
        if not video_failures:
            say("positive case passed (video)")
    failures += negative(browser, binary)
    if failures:
        for f in failures:
            say(f"FAIL: {f}")
        return 1
    say("negative case passed: the browser refused the wrong fingerprint")
    say("PASS")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        say(f"FAIL: {e}")
        sys.exit(1)
