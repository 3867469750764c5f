#!/usr/bin/env bash
# dtlscat as server (-l) against `gnutls-cli --udp`, both ends authenticated: dtlscat pins the
# fingerprint of the client's certificate file, gnutls-cli verifies dtlscat's certificate
# against that certificate itself (and its CN as the host name). One line each way,
# SRTP_AES128_CM_SHA1_80 agreed, the RFC 5764 keying material identical (gnutls-cli
# --keymatexport); gnutls-cli's close_notify ends dtlscat with status 0.
#
# usage: server_vs_gnutls.sh DTLSCAT
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
interop_init "$@"
PROFILE=SRTP_AES128_CM_SHA1_80
require_tools openssl gnutls-cli
srtp_profile "$PROFILE"

make_dtlscat_identity
make_foreign_identity foreign FOREIGN_FP
cn=$(openssl x509 -noout -subject -nameopt sep_multiline -in "$WORK/dtlscat.pem" |
  sed -n 's/^[[:space:]]*CN=//p' | head -n 1)
[[ -n $cn ]] || fail "dtlscat's certificate has no CN to verify as the host name"

open_input dtlscat
start_dtlscat_server dtlscat -v --cert "$WORK/dtlscat.pem" --key "$WORK/dtlscat.key" \
  --peer-fingerprint "$FOREIGN_FP" --srtp "$PROFILE" --require-srtp

open_input client
spawn client stdbuf -oL gnutls-cli --udp -p "$PORT" 127.0.0.1 \
  --x509certfile "$WORK/foreign.pem" --x509keyfile "$WORK/foreign.key" \
  --x509cafile "$WORK/dtlscat.pem" --verify-hostname "$cn" \
  --srtp-profiles SRTP_AES128_CM_HMAC_SHA1_80 \
  --keymatexport EXTRACTOR-dtls_srtp --keymatexportsize "$EXPORT_LEN"

check_connected dtlscat "$FOREIGN_FP"
wait_for client out '^- Handshake was completed' || fail "gnutls-cli reported no completed handshake"
has_text client out "- Status: The certificate is trusted." ||
  fail "gnutls-cli did not trust dtlscat's certificate"
wait_for client out '^- Simple Client Mode' || fail "gnutls-cli did not start reading its stdin"

exchange_lines client "gnutls-cli"

# This time the foreign side closes: EOF on gnutls-cli's stdin sends close_notify, which ends
# dtlscat with status 0 although its own stdin is still open.
close_input client
expect_exit dtlscat 0 "after gnutls-cli's close_notify"
has_status dtlscat closed || fail "dtlscat did not print 'closed'"
wait_exit client
((RC[client] == 0)) || fail "gnutls-cli exited ${RC[client]} after closing, expected 0 (124: still running)"

check_profile
has_text client out "- SRTP profile: SRTP_AES128_CM_HMAC_SHA1_80" ||
  fail "gnutls-cli did not report SRTP profile SRTP_AES128_CM_HMAC_SHA1_80"
check_keys dtlscat "$(field client out '- Key material: ')" "$EXPORT_LEN" "gnutls-cli"

pass "mutual authentication, one line each way, $PROFILE with identical $EXPORT_LEN-byte keying material, peer's close_notify ends dtlscat with 0"
