#!/usr/bin/env bash
# dtlscat as client against `gnutls-serv --udp --echo` (whose DTLS server answers the first
# ClientHello with a HelloVerifyRequest), both ends authenticated: dtlscat pins the
# fingerprint of the server's certificate file, gnutls-serv requires a client certificate and
# verifies it against dtlscat's own certificate. The line dtlscat sends is received and echoed
# back (one line each way), SRTP_AES128_CM_SHA1_80 is agreed (--require-srtp). gnutls-serv
# prints no keying material in UDP mode, so the keys are compared with GnuTLS in
# server_vs_gnutls.sh only.
#
# usage: client_vs_gnutls.sh DTLSCAT
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
interop_init "$@"
PROFILE=SRTP_AES128_CM_SHA1_80
require_tools openssl gnutls-serv
srtp_profile "$PROFILE"

make_dtlscat_identity
make_foreign_identity foreign FOREIGN_FP

# gnutls-serv has no option for the listening address: it binds 0.0.0.0 and :: (the case
# only talks to 127.0.0.1). GnuTLS calls SRTP_AES128_CM_SHA1_80 SRTP_AES128_CM_HMAC_SHA1_80.
start_listening server err 'listening on IPv4 0\.0\.0\.0 port [0-9]+\.\.\.done' \
  gnutls-serv --udp --echo -p @PORT@ \
  --x509certfile "$WORK/foreign.pem" --x509keyfile "$WORK/foreign.key" \
  --require-client-cert --verify-client-cert --x509cafile "$WORK/dtlscat.pem" \
  --srtp-profiles SRTP_AES128_CM_HMAC_SHA1_80

open_input dtlscat
spawn dtlscat "$DTLSCAT" -v --cert "$WORK/dtlscat.pem" --key "$WORK/dtlscat.key" \
  --peer-fingerprint "$FOREIGN_FP" --srtp "$PROFILE" --require-srtp 127.0.0.1 "$PORT"

check_connected dtlscat "$FOREIGN_FP"
grep -qE '^<- .*hello_verify_request' "$WORK/dtlscat.err" ||
  fail "gnutls-serv sent no HelloVerifyRequest (the case must exercise the cookie exchange)"

line="line from dtlscat to gnutls-serv"
send_line dtlscat "$line"
wait_for server err "Processing [0-9]+ bytes command: $line\$" ||
  fail "gnutls-serv did not receive the line dtlscat sent"
wait_for dtlscat out "^$line\$" || fail "dtlscat did not print the line gnutls-serv echoed"

close_input dtlscat
wait_exit dtlscat
((RC[dtlscat] == 0)) || fail "dtlscat exited ${RC[dtlscat]} after EOF on stdin, expected 0"
grep -qx closed "$WORK/dtlscat.err" || fail "dtlscat did not print 'closed'"

[[ $(field dtlscat err 'srtp profile: ') == "$PROFILE" ]] ||
  fail "dtlscat agreed SRTP profile '$(field dtlscat err 'srtp profile: ')', expected $PROFILE"
keys=$(field dtlscat err 'srtp keying material: ')
((${#keys} == 2 * EXPORT_LEN)) || fail "dtlscat printed ${#keys} hex digits of keying material, expected $((2 * EXPORT_LEN))"

pass "HelloVerifyRequest handled, mutual authentication, one line each way (echo), $PROFILE agreed (gnutls-serv prints no keying material)"
