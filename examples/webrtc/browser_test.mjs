// browser_test.mjs: real browsers' WebRTC stacks against webrtc_server (dtlspp), on 127.0.0.1.
//
//   node browser_test.mjs --server PATH --modules DIR --case CASE [--browser chromium|firefox]
//                         [--setup passive|active] [--media audio|video] [--srtp PROFILE]
//                         [--source devices|synthetic] [--bind ADDRESS]
//                         [--screenshot FILE] [--work DIR]
//
// Browsers are Debian's chromium and firefox-esr, driven by puppeteer-core (found in DIR, the
// node_modules browser_test.sh installs): the DevTools protocol for Chromium, WebDriver BiDi for
// Firefox. Fake media devices stand in for the camera and microphone. Each case starts its own
// server and browsers, prints what it checks, ends with PASS or FAIL (exit 0 or 1) and prints one
// line "observed: {...}" with what the browsers did on the wire. Every wait is bounded.
//
// Cases:
//   media       one page sends audio or video; dtlspp in the --setup role
//   negative    the answer carries a wrong fingerprint: the browser must refuse the handshake
//   datachannel one page opens an ordered reliable channel and an unordered one without
//               retransmissions; the server echoes every message
//   many        four pages at once (two Chromium, two Firefox, both roles); one page closes,
//               then Firefox is killed
//   retransmit  the server ignores the first three ClientHellos: the browser retransmits
//   screenshot  the whole page (media and data channels), for the README
//   firefox-default-profile  Firefox without the loopback preference: ICE cannot work on
//               127.0.0.1, and the page says which setting to change
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = parseArgs(process.argv.slice(2));
const require = createRequire(path.join(path.resolve(args.modules), 'package.json'));
const puppeteer = require('puppeteer-core');

const failures = [];
const observed = {};
const cleanups = [];
const started = Date.now();

function parseArgs(argv) {
  const out = { browser: 'chromium', setup: 'passive', media: 'audio' };
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const required of ['server', 'modules', 'case']) {
    if (!out[required]) throw new Error(`--${required} is required`);
  }
  return out;
}

function say(...words) {
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  console.log(`browser_test [${t}s]`, ...words);
}

function check(ok, what) {
  if (ok) {
    say(`ok: ${what}`);
  } else {
    say(`FAIL: ${what}`);
    failures.push(what);
  }
  return ok;
}

// The many case's consent timeout: browsers check consent every 5 s at most (RFC 7675 section
// 5.1 says 5 s, randomised; Chromium checks a stable pair every 2.5 s).
const CONSENT_S = 10;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// waitFor polls condition every 250 ms until it returns a truthy value or ms pass.
async function waitFor(condition, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await condition();
    if (value) return value;
    await sleep(250);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The server: started by each case with its own ports, stopped at the end.

class Server {
  static async start(...extra) {
    const s = new Server();
    s.lines = [];
    s.proc = spawn(args.server, ['--http-port', '0', '--udp-port', '0', ...extra],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => s.stop());
    const onData = (d) => {
      for (const line of d.toString().split('\n')) if (line) s.lines.push(line);
    };
    s.proc.stdout.on('data', onData);
    s.proc.stderr.on('data', onData);
    const url = await waitFor(() => {
      const m = s.lines.map((l) => /open (http:\/\/\S+\/) in a browser/.exec(l)).find(Boolean);
      return m ? m[1] : null;
    }, 15000);
    if (!url) throw new Error(`webrtc_server did not start:\n${s.lines.join('\n')}`);
    s.url = url;
    return s;
  }

  async status() {
    const r = await fetch(`${this.url}status`, { cache: 'no-store' });
    return r.json();
  }

  async pc(id) {
    const s = await this.status();
    return s.peer_connections.find((p) => p.id === id) || null;
  }

  stop() {
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
  }
}

// ---------------------------------------------------------------------------------------------
// Browsers.

const CHROMIUM = '/usr/bin/chromium';
const FIREFOX = '/usr/bin/firefox-esr';

function freshProfile(name) {
  const dir = fs.mkdtempSync(path.join(args.work || os.tmpdir(), `${name}-profile-`));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// launch starts a headless browser with fake media devices. Firefox gets the loopback ICE
// preference unless `loopback` is false.
async function launch(kind, { loopback = true } = {}) {
  const viewport = { width: 1150, height: 1000 };
  let browser;
  if (kind === 'chromium') {
    browser = await puppeteer.launch({
      browser: 'chrome', executablePath: CHROMIUM, headless: true, defaultViewport: viewport,
      userDataDir: freshProfile('chromium'), protocolTimeout: 60000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--mute-audio',
        '--disable-extensions', '--window-size=1150,1000',
        // No mDNS names for host candidates: nothing multicast on the machine's network.
        '--disable-features=WebRtcHideLocalIpsWithMdns',
        // No name resolves but 127.x.x.x: the browser's own update and account lookups stay
        // on this machine.
        '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.*'],
    });
  } else {
    browser = await puppeteer.launch({
      browser: 'firefox', executablePath: FIREFOX, headless: true, defaultViewport: viewport,
      userDataDir: freshProfile('firefox'), protocolTimeout: 60000,
      extraPrefsFirefox: {
        'media.navigator.streams.fake': true,
        // Granted, as a person allows the camera and microphone when asked. Not
        // media.navigator.permission.disabled: without a recorded permission Firefox gathers
        // only its default address (no loopback) whatever ice.loopback says.
        'permissions.default.camera': 1,
        'permissions.default.microphone': 1,
        'media.peerconnection.ice.loopback': loopback,
        // No mDNS names for host candidates: nothing multicast on the machine's network.
        'media.peerconnection.ice.obfuscate_host_addresses': false,
        // Keep the browser off the network: no updates, telemetry or captive portal probes.
        'app.update.enabled': false, 'network.captive-portal-service.enabled': false,
        'datareporting.policy.dataSubmissionEnabled': false, 'toolkit.telemetry.enabled': false,
        'network.connectivity-service.enabled': false, 'browser.safebrowsing.update.enabled': false,
        'extensions.update.enabled': false, 'browser.search.update': false,
        // Every name resolves to 127.0.0.1 (as Mozilla's own test harness does), and remote
        // settings point there: no lookup or connection leaves this machine.
        // (HTTPS records are not covered by that: they are not asked for.)
        'network.dns.native-is-localhost': true, 'network.dns.native_https_query': false,
        'network.dns.disablePrefetch': true,
        'services.settings.server': 'http://127.0.0.1:9/v1',
      },
    });
  }
  cleanups.push(() => browser.close().catch(() => {}));
  const version = await browser.version();
  say(`${kind}: ${version}, headless, fake media devices` +
    (kind === 'firefox' ? `, media.peerconnection.ice.loopback=${loopback}` : ''));
  return { kind, browser, version };
}

// open loads the page with query in a new tab of b.
async function open(b, server, query) {
  const page = await b.browser.newPage();
  page.consoleLines = [];
  page.on('console', (m) => page.consoleLines.push(m.text()));
  await page.goto(`${server.url}?${query}`);
  return page;
}

const pageState = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.webrtcState)));

// report prints what a failure needs: the page's state and console, the server's status.
async function report(title, page, server, pcId) {
  say(`--- ${title} ---`);
  try {
    if (page) {
      console.log(JSON.stringify(await pageState(page), null, 1));
      console.log(page.consoleLines.slice(-40).join('\n'));
    }
  } catch (e) {
    say(`(cannot read the page: ${e.message})`);
  }
  if (server) {
    try {
      const pc = pcId ? await server.pc(pcId) : null;
      if (pc) console.log(JSON.stringify({ ...pc, log: undefined }, null, 1));
    } catch (e) {
      say(`(cannot read the server's status: ${e.message})`);
    }
    console.log(server.lines.slice(-60).join('\n'));
  }
}

const hex = (fp) => (fp ? fp.split(' ')[1] : null);

// observe records what one peer connection showed of a browser's DTLS.
function observe(b, pc, st, extra = {}) {
  const d = pc.dtls;
  const hello = d.browser.client_hello;
  const entry = {
    browser: b.version, dtlspp_role: pc.dtls_role, cipher: d.cipher || null,
    srtp_profile: d.srtp_profile || null, handshake_ms: d.handshake_ms,
    browser_dtls_cipher: st ? st.dtlsCipher : null, browser_srtp_cipher: st ? st.srtpCipher : null,
    dtlspp_retransmissions: d.retransmissions,
    browser_retransmissions: d.browser.retransmissions,
    browser_retransmission_delays_ms: d.browser.retransmission_delays_ms,
    browser_handshake_datagrams: d.browser.handshake_datagrams,
    browser_handshake_bytes: d.browser.handshake_bytes,
    client_hello: hello ? {
      bytes: hello.length, fragments: hello.fragments, datagrams: hello.datagrams,
      largest_datagram: hello.largest_datagram, versions: hello.versions,
      key_shares: hello.key_shares, groups: hello.groups, srtp_profiles: hello.srtp_profiles,
      cipher_suites: hello.cipher_suites.length,
    } : null,
    ...extra,
  };
  const key = `${b.kind}/${pc.dtls_role}`;
  observed[key] = { ...(observed[key] || {}), ...entry };
}

// ---------------------------------------------------------------------------------------------
// Checks shared by the cases.

// checkMedia checks one page that should be connected and sending media to the server.
async function checkMedia(b, page, server, { media, setup, srtp }) {
  const role = setup === 'active' ? 'client' : 'server';
  const st0 = await waitFor(async () => {
    const st = await pageState(page);
    return st.id !== null ? st : null;
  }, 20000);
  if (!check(st0, `${b.kind}: the page posted an offer and applied the answer`)) return null;
  const done = await waitFor(async () => {
    const st = await pageState(page);
    const pc = await server.pc(st.id);
    if (st.error || st.connectionState === 'failed' || (pc && pc.ended)) return { st, pc };
    if (st.connectionState === 'connected' && st.dtlsState === 'connected' &&
        (st.remoteCertificate || st.transportCertificate) && pc && pc.srtp.rtp_ok >= 60) {
      return { st, pc };
    }
    return null;
  }, 45000);
  const st = done ? done.st : await pageState(page);
  const pc = done ? done.pc : await server.pc(st.id);
  const serverFp = (await server.status()).server_fingerprint;
  const n = failures.length;
  check(done && !st.error, `${b.kind}: no page error (${st.error || 'none'})`);
  check(pc && pc.ice.requests > 0 && pc.ice.responses > 0,
    `${b.kind}: ICE checks reached the server and were answered (${pc && pc.ice.responses})`);
  check(st.connectionState === 'connected', `${b.kind}: connectionState is connected ` +
    `(${st.connectionState}, ICE ${st.iceConnectionState})`);
  check(st.dtlsState === 'connected', `${b.kind}: getStats transport dtlsState is connected`);
  check(pc && pc.dtls_role === role && pc.dtls.state === 'connected',
    `${b.kind}: dtlspp connected as the DTLS ${role} (${pc && pc.dtls.state})`);
  // Chromium reports the certificate in getStats (RTCCertificateStats) and through
  // RTCDtlsTransport; Firefox only through RTCDtlsTransport.getRemoteCertificates().
  const rc = st.remoteCertificate;
  check(rc || st.transportCertificate, `${b.kind}: the browser shows the certificate DTLS ` +
    `presented (getStats: ${rc ? 'yes' : 'no'}, RTCDtlsTransport: ${st.transportCertificate ?
      'yes' : 'no'})`);
  if (rc) {
    check(rc.fingerprintAlgorithm === 'sha-256' && rc.fingerprint === hex(serverFp),
      `${b.kind}: getStats shows dtlspp's certificate ${serverFp}`);
  }
  if (st.transportCertificate) {
    check(st.transportCertificate === serverFp,
      `${b.kind}: RTCDtlsTransport.getRemoteCertificates() is dtlspp's certificate`);
  }
  check(pc && pc.dtls.peer_fingerprint === st.localFingerprint,
    `${b.kind}: dtlspp pinned the browser's a=fingerprint ${st.localFingerprint}`);
  check(pc && pc.media === media, `${b.kind}: the accepted m-line is ${media}`);
  const s = pc ? pc.srtp : {};
  check(s.rtp_ok >= 50, `${b.kind}: the server decrypted at least 50 SRTP packets ` +
    `(${s.rtp_ok} RTP, ${s.rtcp_ok} RTCP; ${s.rtp_failed} + ${s.rtcp_failed} failed)`);
  const pts = Object.keys(s.payload_types || {}).map(Number);
  check(pts.length === 1 && pts[0] === s.offer_payload_type,
    `${b.kind}: decrypted payload types ${pts} are the offer's first, ${s.offer_payload_type}`);
  check((s.ssrcs || []).includes(st.outboundSsrc) &&
    (s.offer_ssrcs.length === 0 || s.ssrcs.every((x) => s.offer_ssrcs.includes(x))),
  `${b.kind}: decrypted SSRCs ${s.ssrcs} include the browser's outbound ${st.outboundSsrc}` +
    ' and are all in the offer');
  check(st.outboundPayloadType === s.offer_payload_type,
    `${b.kind}: the browser sent payload type ${st.outboundPayloadType}`);
  if (srtp) {
    check(pc && pc.dtls.srtp_profile === srtp, `${b.kind}: the SRTP profile is ${srtp} ` +
      `(${pc && pc.dtls.srtp_profile})`);
  }
  if (role === 'server') {
    check(pc && pc.dtls.browser.client_hello, `${b.kind}: the server read the browser's ` +
      'whole ClientHello');
  }
  say(`${b.kind}: dtlspp ${pc && pc.dtls.cipher} ${pc && pc.dtls.srtp_profile}, handshake ` +
    `${pc && pc.dtls.handshake_ms} ms; browser getStats ${st.dtlsCipher} / ${st.srtpCipher}`);
  if (pc) observe(b, pc, st);
  if (failures.length > n) await report(`${b.kind} media failed`, page, server, st.id);
  return { st, pc };
}

// ---------------------------------------------------------------------------------------------
// Cases.

async function caseMedia() {
  const server = await Server.start(...(args.srtp ? ['--srtp', args.srtp] : []),
    ...(args.bind ? ['--bind', args.bind] : []));
  if (args.bind) {
    const status = await server.status();
    check(server.url.startsWith(`http://${args.bind}:`) && status.candidate === args.bind,
      `the server listens on ${args.bind} and its answer's candidate names it ` +
      `(${server.url}, candidate ${status.candidate})`);
  }
  const b = await launch(args.browser);
  const source = args.source ? `&source=${args.source}` : '';
  const page = await open(b, server, `setup=${args.setup}&media=${args.media}&dc=0${source}`);
  if (args.source === 'synthetic') {
    // The synthesised tone starts with the person's first click (autoplay policy).
    await sleep(500);
    await page.mouse.click(600, 950);
  }
  const r = await checkMedia(b, page, server, args);
  if (args.source) {
    const st = await pageState(page);
    check(st.source === args.source, `${b.kind}: the page's media source is ${st.source}`);
  }
  if (args.screenshot && failures.length === 0) await screenshot(page, args.screenshot);
  return r;
}

async function screenshot(page, file) {
  await sleep(1500);  // the page renders the latest status
  await page.screenshot({ path: file });
  say(`screenshot: ${file}`);
}

async function caseNegative() {
  const server = await Server.start('--wrong-fingerprint');
  const b = await launch(args.browser);
  const role = args.setup === 'active' ? 'client' : 'server';
  const page = await open(b, server, `setup=${args.setup}&media=audio&dc=0`);
  const t0 = Date.now();
  const st = await waitFor(async () => {
    const s = await pageState(page);
    return ['failed', 'connected', 'closed'].includes(s.connectionState) || s.error ? s : null;
  }, 30000) || await pageState(page);
  const elapsed = (Date.now() - t0) / 1000;
  // The server's side of the failure may come a moment after the browser's.
  const pc = await waitFor(async () => {
    const p = st.id !== null ? await server.pc(st.id) : null;
    return p && p.dtls.state !== 'handshaking' ? p : null;
  }, 10000) || (st.id !== null ? await server.pc(st.id) : null);
  say(`${b.kind}: connectionState ${st.connectionState} after ${elapsed.toFixed(1)} s`);
  check(st.id !== null && pc, `${b.kind}: the page posted its offer and the server answered`);
  check(pc && pc.answer_fingerprint !== (await server.status()).server_fingerprint,
    `${b.kind}: the answer named another certificate than dtlspp's`);
  // An offer followed by no ICE check, or no handshake, would prove nothing about DTLS.
  check(pc && pc.ice.requests > 0 && pc.ice.responses > 0,
    `${b.kind}: ICE checks reached the server and were answered ` +
    `(${pc && pc.ice.requests} requests)`);
  if (role === 'server') {
    check(pc && pc.dtls.browser.client_hello, `${b.kind}: the browser's ClientHello arrived`);
  } else {
    check(pc && pc.dtls.datagrams_in > 0 && pc.dtls.datagrams_out > 0,
      `${b.kind}: dtlspp sent its ClientHello and the browser answered ` +
      `(${pc && pc.dtls.datagrams_out} out, ${pc && pc.dtls.datagrams_in} in)`);
  }
  check(st.connectionState === 'failed', `${b.kind}: the browser refused the handshake ` +
    `(connectionState ${st.connectionState})`);
  check(pc && pc.dtls.state === 'failed' && pc.dtls.error_code === 'peer_alert',
    `${b.kind}: dtlspp's session failed on the browser's alert ` +
    `(${pc && pc.dtls.state}, ${pc && pc.dtls.error_code}: ${pc && pc.dtls.error})`);
  check(pc && pc.srtp.rtp_ok === 0 && pc.srtp.rtcp_ok === 0,
    `${b.kind}: nothing was decrypted`);
  if (pc) observe(b, pc, null, { wrong_fingerprint: `${pc.dtls.error_code}: ${pc.dtls.error}` });
  if (failures.length) await report(`${b.kind} negative case failed`, page, server, st.id);
}

async function caseDataChannel() {
  const server = await Server.start();
  const b = await launch(args.browser);
  const role = args.setup === 'active' ? 'client' : 'server';
  const page = await open(b, server, `setup=${args.setup}&media=none&dc=1`);
  const st = await waitFor(async () => {
    const s = await pageState(page);
    return s.dc.done || s.error || s.connectionState === 'failed' ? s : null;
  }, 60000) || await pageState(page);
  const pc = st.id !== null ? await server.pc(st.id) : null;
  const r = st.dc.reliable || {};
  const u = st.dc.unordered || {};
  check(!st.error, `${b.kind}: no page error (${st.error || 'none'})`);
  check(pc && pc.dtls.state === 'connected' && pc.dtls_role === role,
    `${b.kind}: dtlspp connected as the DTLS ${role}`);
  check(pc && pc.sctp.up, `${b.kind}: the SCTP association is up over DTLS`);
  check(r.sent === 100 && r.received === 100 && r.intact,
    `${b.kind}: reliable ordered channel: 100 sent, ${r.received} back in order, every one ` +
    `intact (altered ${r.mismatched}, out of order ${r.outOfOrder})`);
  check(u.sent === 100 && u.received >= 90 && u.mismatched === 0 && u.duplicates === 0,
    `${b.kind}: unordered channel without retransmissions: ${u.received} of 100 back, ` +
    `none altered or repeated`);
  const srv = await server.status();
  say(`${b.kind}: server: ${pc && pc.sctp.packets_out} SCTP packets out, ${pc && pc.sctp.packets_in}` +
    ` in; ${srv.udp_send_failed} UDP sends refused by the kernel`);
  const channels = pc ? pc.sctp.channels : [];
  const rc = channels.find((c) => c.label === 'reliable');
  const uc = channels.find((c) => c.label === 'unordered');
  // The reliable channel carried the 100 messages, then the round-trip pings.
  check(rc && rc.ordered && rc.type === 0 && rc.messages_in >= 100 &&
    rc.messages_out === rc.messages_in,
  `${b.kind}: the server saw "reliable" open as ordered and reliable (DCEP type 0x00) and ` +
    `echoed all its ${rc && rc.messages_in} messages`);
  check(pc && pc.sctp.packets_over_limit === 0 && pc.sctp.largest_packet_out <= pc.sctp.packet_limit,
    `${b.kind}: every SCTP packet fit one DTLS record (largest ${pc && pc.sctp.largest_packet_out}` +
    ` of ${pc && pc.sctp.packet_limit} bytes)`);
  check(uc && !uc.ordered && uc.type === 0x81 && uc.reliability === 0 && uc.messages_in >= 90,
    `${b.kind}: the server saw "unordered" open as unordered with 0 retransmissions (DCEP ` +
    `type 0x81) and echoed ${uc && uc.messages_in} messages`);
  check(st.dc.rttMs !== null && st.dc.rttMs < 50, `${b.kind}: data channel round trip ` +
    `${st.dc.rttMs && st.dc.rttMs.toFixed(3)} ms (mean of 50 echoes one at a time)`);
  if (pc) {
    observe(b, pc, null, {
      datachannel_rtt_ms: st.dc.rttMs && Number(st.dc.rttMs.toFixed(3)),
      sctp_largest_packet: pc.sctp.largest_packet_out,
    });
  }
  if (failures.length) await report(`${b.kind} data channel case failed`, page, server, st.id);
  if (args.screenshot && failures.length === 0) await screenshot(page, args.screenshot);
}

async function caseMany() {
  const server = await Server.start('--consent-timeout', String(CONSENT_S));
  const [chromium, firefox] = await Promise.all([launch('chromium'), launch('firefox')]);
  const plan = [
    { b: chromium, setup: 'passive', dc: 1 }, { b: chromium, setup: 'active', dc: 0 },
    { b: firefox, setup: 'passive', dc: 0 }, { b: firefox, setup: 'active', dc: 1 },
  ];
  const pages = [];
  for (const p of plan) {
    // One page at a time until its offer is answered: Firefox holds getUserMedia back in a
    // background tab, and a new tab sends the previous one to the background.
    const page = await open(p.b, server, `setup=${p.setup}&media=audio&dc=${p.dc}`);
    await waitFor(async () => (await pageState(page)).id !== null, 20000);
    pages.push({ ...p, page });
  }
  say('four pages open at once: Chromium as DTLS client and server, Firefox the same');
  for (const p of pages) {
    p.result = await checkMedia(p.b, p.page, server, { media: 'audio', setup: p.setup });
  }
  const ids = pages.map((p) => p.result && p.result.st.id);
  const status = await server.status();
  const addresses = new Set(pages.map((p) => p.result && p.result.pc && p.result.pc.ice.address));
  check(addresses.size === 4 && new Set(ids).size === 4,
    `four peer connections (${ids}) on one UDP port (${status.udp_port}), from four addresses`);
  check(status.listener.sessions === 2,
    `the listener holds the two associations where dtlspp is the server ` +
    `(${status.listener.sessions})`);
  for (const p of pages.filter((x) => x.dc)) {
    const st = await waitFor(async () => {
      const s = await pageState(p.page);
      return s.dc.done ? s : null;
    }, 30000);
    check(st && st.dc.reliable.intact, `${p.b.kind} (${p.setup}): data channel echoes intact ` +
      'beside the media');
  }
  // Close one page: its association ends (the page closes its RTCPeerConnection, and the browser
  // sends close_notify); the other three keep going.
  const closing = pages[1];
  const closedId = ids[1];
  await closeAndCheck(server, ids, pages, [closedId], async () => {
    await closing.page.close();
    say(`closed the page of peer connection ${closedId} (${closing.b.kind}, ${closing.setup})`);
  }, 10000, 'page_close');
  // Then Firefox dies (SIGKILL): no close_notify, no more ICE checks. Its two peer connections
  // must end when their consent expires (RFC 7675); the Chromium page left keeps going.
  const firefoxIds = ids.filter((id, i) => pages[i].b.kind === 'firefox');
  await closeAndCheck(server, ids.filter((id) => id !== closedId), pages, firefoxIds, async () => {
    // The whole process group at once (puppeteer starts the browser as a group leader): a
    // socket or content process left alive would close its peer connections politely.
    process.kill(-firefox.browser.process().pid, 'SIGKILL');
    say(`killed Firefox and its child processes (peer connections ${firefoxIds})`);
  }, (CONSENT_S + 5) * 1000, 'browser_killed');
  for (const id of firefoxIds) {
    const pc = await server.pc(id);
    check(pc && pc.end_reason.startsWith('consent expired'),
      `peer connection ${id} ended by consent expiry (${pc && pc.end_reason})`);
  }
  if (failures.length) {
    for (const [i, p] of pages.entries()) {
      if (p.b.kind === 'chromium' && i !== 1) await report(`page ${ids[i]}`, p.page, null, null);
    }
    console.log(server.lines.slice(-80).join('\n'));
  }
}

// closeAndCheck runs act, then checks that the peer connections `ending` end within ms, and
// that every other one of `live` is still connected and decrypting (50 packets more at least).
async function closeAndCheck(server, live, pages, ending, act, ms, key) {
  const before = {};
  for (const id of live) {
    const pc = await server.pc(id);
    before[id] = pc.srtp.rtp_ok;
    if (ending.includes(id)) {
      check(!pc.ended && pc.dtls.state === 'connected',
        `peer connection ${id} is connected before its end`);
    }
  }
  const t0 = Date.now();
  await act();
  const ended = await waitFor(async () => {
    const pcs = await Promise.all(ending.map((id) => server.pc(id)));
    return pcs.every((pc) => pc && pc.ended) ? pcs : null;
  }, ms);
  for (const [k, id] of ending.entries()) {
    const pc = ended ? ended[k] : await server.pc(id);
    check(pc && pc.ended, `peer connection ${id} ended ${((Date.now() - t0) / 1000).toFixed(1)} ` +
      `s after: ${pc && pc.end_reason}`);
    if (pc && pc.ended) observed[key] = { ...(observed[key] || {}), [id]: pc.end_reason };
  }
  await sleep(1500);
  for (const id of live.filter((x) => !ending.includes(x))) {
    const pc = await server.pc(id);
    const i = pages.findIndex((p) => p.result && p.result.st.id === id);
    const gained = pc.srtp.rtp_ok - before[id];
    const seconds = (Date.now() - t0) / 1000;
    check(!pc.ended && pc.dtls.state === 'connected' && gained >= Math.min(50, 25 * seconds),
      `peer connection ${id} (${pages[i].b.kind}, ${pages[i].setup}) undisturbed: still ` +
      `connected, ${gained} more packets decrypted in ${seconds.toFixed(1)} s`);
  }
}

async function caseFirefoxDefaultProfile() {
  const server = await Server.start();
  const b = await launch('firefox', { loopback: false });
  const page = await open(b, server, 'media=audio&dc=0');
  const st = await waitFor(async () => {
    const s = await pageState(page);
    return ['failed', 'connected'].includes(s.iceConnectionState) || s.error ? s : null;
  }, 60000) || await pageState(page);
  const pc = st.id !== null ? await server.pc(st.id) : null;
  say(`firefox: ICE ${st.iceConnectionState}; notice: ${st.notice}`);
  check(st.notice && st.notice.includes('media.peerconnection.ice.loopback'),
    'firefox: the page names the setting media.peerconnection.ice.loopback');
  check(st.notice && st.notice.includes('--bind'), 'firefox: the page names --bind');
  check(pc && pc.ice.requests === 0, 'firefox: no ICE check reached 127.0.0.1 ' +
    `(${pc && pc.ice.requests}): a default profile pairs no loopback candidate`);
  check(st.iceConnectionState === 'failed', `firefox: ICE failed (${st.iceConnectionState}), ` +
    'and the page says why');
  if (failures.length) await report('firefox default profile failed', page, server, st.id);
}

// caseRetransmit has the server ignore the browser's first three ClientHellos: the browser must
// retransmit on its timer, backing off, and the handshake then completes with what came last.
async function caseRetransmit() {
  const server = await Server.start('--drop-hellos', '3');
  const b = await launch(args.browser);
  const page = await open(b, server, 'setup=passive&media=audio&dc=0');
  const r = await checkMedia(b, page, server, { media: 'audio', setup: 'passive' });
  if (!r || !r.pc) return;
  const d = r.pc.dtls.browser;
  // One retransmission of a ClientHello in two fragments is two datagrams at about one time.
  const times = [];
  for (const t of d.retransmission_delays_ms) {
    if (!times.length || t - times[times.length - 1] > 20) times.push(t);
  }
  say(`${b.kind}: retransmissions of its ClientHello at ${times.join(', ')} ms after the first`);
  const intervals = times.map((t, i) => t - (i ? times[i - 1] : 0));
  check(times.length >= 3, `${b.kind}: retransmitted its ClientHello at least three times ` +
    `(${times.length} times)`);
  check(intervals.length >= 3 && intervals[2] > intervals[0] * 1.5 &&
    intervals.every((x, i) => i === 0 || x >= intervals[i - 1] * 0.8),
  `${b.kind}: its retransmission timer backs off (intervals ${intervals.join(', ')} ms)`);
  observed[`${b.kind}/server`].client_hello_retransmissions_ms = times;
}

// caseScreenshot shows the whole page, media and data channels, for the README.
async function caseScreenshot() {
  const server = await Server.start();
  const b = await launch(args.browser);
  const page = await open(b, server, `setup=${args.setup}&media=${args.media}&dc=1`);
  await checkMedia(b, page, server, args);
  const st = await waitFor(async () => {
    const s = await pageState(page);
    return s.dc.done ? s : null;
  }, 30000);
  check(st && st.dc.reliable.intact, `${b.kind}: data channel echoes intact beside the media`);
  await screenshot(page, args.screenshot);
}

const cases = {
  media: caseMedia, screenshot: caseScreenshot, retransmit: caseRetransmit, negative: caseNegative, datachannel: caseDataChannel, many: caseMany,
  'firefox-default-profile': caseFirefoxDefaultProfile,
};

async function main() {
  const run = cases[args.case];
  if (!run) throw new Error(`unknown case ${args.case}`);
  const limit = setTimeout(() => {
    say('FAIL: the case took longer than 150 s');
    process.exit(1);
  }, 150000);
  try {
    await run();
  } catch (e) {
    failures.push(String(e && e.stack || e));
    say(`FAIL: ${e && e.stack || e}`);
  } finally {
    clearTimeout(limit);
    console.log(`observed: ${JSON.stringify(observed)}`);
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        // clean-up is best effort
      }
    }
  }
  say(failures.length ? `FAIL (${failures.length} failed checks)` : 'PASS');
  process.exit(failures.length ? 1 : 0);
}

main();
