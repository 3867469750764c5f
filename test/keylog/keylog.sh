#!/usr/bin/env bash
# keylog.sh KEYLOG_PCAP: tshark decrypts a dtlspp session with its NSS key log, and only with it.
#
# KEYLOG_PCAP (keylog_pcap.cpp) runs a client and a server in memory with context_options::key_log
# set, exchanges two known texts and writes session.pcap and keys.txt. Then tshark reads the pcap
#   1. without a key log: the application records must be there (ciphertext) and neither text
#      may appear anywhere in the dissection or the hex dump;
#   2. with -o tls.keylog_file:keys.txt: each record must decrypt to exactly its text, in order.
# tshark is installed (Debian package tshark) when missing and this runs as root; when that is
# impossible the test says why and exits 77 (meson's "skipped").
set -euo pipefail

keylog_pcap=${1:?usage: keylog.sh KEYLOG_PCAP}
port=4433
client_text="dtlspp keylog probe: client to server 7f3a"
server_text="dtlspp keylog probe: server to client 0c91"

skip() {
  echo "SKIP: $*"
  exit 77
}

ensure_tshark() {
  command -v tshark >/dev/null && return 0
  [ "$(id -u)" -eq 0 ] || skip "tshark is not installed and installing it needs root" \
    "(apt-get install tshark)"
  command -v apt-get >/dev/null || skip "tshark is not installed and there is no apt-get"
  echo "installing tshark (Debian package tshark)"
  export DEBIAN_FRONTEND=noninteractive
  # Without this the wireshark-common postinst asks whether non-root users may capture.
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  if ! { apt-get install -y -qq --no-install-recommends tshark ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends tshark; }; } \
    >/dev/null 2>&1; then
    skip "tshark is not installed and apt-get could not install it (offline?)"
  fi
  command -v tshark >/dev/null || skip "tshark is still missing after apt-get install tshark"
}

ensure_tshark
echo "tshark: $(tshark --version 2>/dev/null | head -n 1)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A private HOME: no user preferences (a configured tls.keylog_file, say) reach tshark.
export HOME="$work/home"
mkdir -p "$HOME"

"$keylog_pcap" "$work" "$client_text" "$server_text"
grep -Eq '^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$' "$work/keys.txt" ||
  { echo "FAIL: keys.txt is not an NSS key log:"; cat "$work/keys.txt"; exit 1; }

hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

# tshark_fields [OPTIONS]: one line per application record: frame, ciphertext, decrypted bytes.
tshark_fields() {
  tshark -n -r "$work/session.pcap" -d "udp.port==$port,dtls" "$@" \
    -Y dtls.app_data -T fields -E separator=/t -e frame.number -e dtls.app_data -e data.data \
    2>/dev/null
}

# 1. Without the key log.
without=$(tshark_fields -o tls.keylog_file:)
echo "without key log:"
echo "$without"
records=$(grep -c . <<<"$without" || true)
[ "$records" -eq 2 ] ||
  { echo "FAIL: expected 2 application records in the capture, found $records"; exit 1; }
if [ -n "$(awk -F'\t' '$3 != ""' <<<"$without")" ]; then
  echo "FAIL: application data decrypted without a key log"
  exit 1
fi
dump=$(tshark -n -r "$work/session.pcap" -d "udp.port==$port,dtls" -o tls.keylog_file: -V -x \
  2>/dev/null)
for text in "$client_text" "$server_text"; do
  if grep -qF -- "${text:0:16}" <<<"$dump" || grep -qF -- "$(hex "${text:0:16}")" <<<"$dump"; then
    echo "FAIL: the plaintext '$text' is readable without the key log"
    exit 1
  fi
done
echo "ok: without the key log the 2 records stay encrypted"

# 2. With the key log.
with=$(tshark_fields -o "tls.keylog_file:$work/keys.txt")
echo "with key log:"
echo "$with"
got=$(awk -F'\t' '{print $3}' <<<"$with")
want=$(printf '%s\n%s' "$(hex "$client_text")" "$(hex "$server_text")")
if [ "$got" != "$want" ]; then
  echo "FAIL: tshark did not decrypt the records to the texts sent"
  echo "want: $want"
  echo "got:  $got"
  exit 1
fi
dump=$(tshark -n -r "$work/session.pcap" -d "udp.port==$port,dtls" \
  -o "tls.keylog_file:$work/keys.txt" -V -x 2>/dev/null)
# The same search that found nothing without the key log finds both texts now: that search
# cannot pass vacuously.
for text in "$client_text" "$server_text"; do
  if ! grep -qF -- "${text:0:16}" <<<"$dump" || ! grep -qF -- "$(hex "${text:0:16}")" <<<"$dump"
  then
    echo "FAIL: '$text' is not in the decrypted dissection"
    exit 1
  fi
done
grep -q 'Alert (Level: Warning, Description: Close Notify)' <<<"$dump" ||
  { echo "FAIL: the close_notify alerts did not decrypt"; exit 1; }
echo "ok: with the key log tshark reads \"$client_text\" and \"$server_text\""
