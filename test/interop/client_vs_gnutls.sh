#!/usr/bin/env bash
# dtlscat as client against `gnutls-serv --udp --echo` (whose DTLS server answers the first
# ClientHello with a HelloVerifyRequest), both ends authenticated: dtlscat pins the
# fingerprint of the server's certificate file, gnutls-serv requires a client certificate and
# verifies it against dtlscat's own certificate. That gnutls-serv did verify it is checked twice:
# its debug log (-d 3) names the certificate it found in its trust list, by the SHA-256 pin of
# dtlscat's public key; and a second gnutls-serv trusting another certificate refuses dtlscat.
# The line dtlscat sends is received and echoed back (one line each way), and
# SRTP_AES128_CM_SHA1_80 is agreed (--require-srtp). gnutls-serv 3.7 prints no keying material
# in UDP mode, --keymatexport or not, so the keys are compared with GnuTLS in
# server_vs_gnutls.sh (gnutls-cli prints them) and with OpenSSL in both directions.
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
  gnutls-serv --udp --echo -p @PORT@ -d 3 \
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
expect_exit dtlscat 0 "after EOF on stdin"
has_status dtlscat closed || fail "dtlscat did not print 'closed'"

check_profile
keys=$(field dtlscat err 'srtp keying material: ')
((${#keys} == 2 * EXPORT_LEN)) || fail "dtlscat printed ${#keys} hex digits of keying material, expected $((2 * EXPORT_LEN))"

# gnutls-serv verified dtlscat's certificate: the one its verification found is dtlscat's.
pin=$(openssl x509 -in "$WORK/dtlscat.pem" -pubkey -noout | openssl pkey -pubin -outform der |
  openssl dgst -sha256 -binary | base64)
grep -qF "pin-sha256=\"$pin\"" "$WORK/server.err" ||
  fail "gnutls-serv's log does not show it verified dtlscat's certificate (pin-sha256=$pin)"
stop_process server

# A gnutls-serv that trusts another certificate refuses dtlscat: its verification is real.
make_foreign_identity other OTHER_FP
start_listening strict err 'listening on IPv4 0\.0\.0\.0 port [0-9]+\.\.\.done' \
  gnutls-serv --udp --echo -p @PORT@ \
  --x509certfile "$WORK/foreign.pem" --x509keyfile "$WORK/foreign.key" \
  --require-client-cert --verify-client-cert --x509cafile "$WORK/other.pem"
spawn refused "$DTLSCAT" --cert "$WORK/dtlscat.pem" --key "$WORK/dtlscat.key" \
  --peer-fingerprint "$FOREIGN_FP" --handshake-timeout 5 127.0.0.1 "$PORT"
wait_exit refused 10
((RC[refused] == 1)) ||
  fail "dtlscat exited ${RC[refused]} against a gnutls-serv that does not trust it, expected 1"
! grep -q '^handshake complete' "$WORK/refused.err" || fail "the handshake completed anyway"

pass "HelloVerifyRequest handled; gnutls-serv verified dtlscat's certificate (its pin in the log, and another trust anchor refuses it); one line each way (echo); $PROFILE agreed"
