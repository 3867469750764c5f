#!/usr/bin/env bash
# dtlscat as server (-l) refuses an `openssl s_client` that presents a certificate other than
# the pinned one, before any data crosses: dtlscat prints
# "127.0.0.1:PORT: error: fingerprint mismatch: expected <pinned>, got <presented>", nothing on
# stdout, and no application_data record goes either way (dtlscat -v traces every datagram),
# although both sides have a line queued on stdin from the start; s_client receives no data and
# its handshake fails with a bad_certificate alert. The stranger ends nothing: dtlscat goes on
# listening and then serves an s_client with the pinned certificate.
#
# usage: mismatch_server_vs_openssl.sh DTLSCAT
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
interop_init "$@"
require_tools openssl

make_dtlscat_identity
make_foreign_identity foreign FOREIGN_FP
make_foreign_identity expected EXPECTED_FP # pinned, presented only by the second client
[[ $FOREIGN_FP != "$EXPECTED_FP" ]] || fail "two fresh certificates with one fingerprint"

open_input dtlscat
send_line dtlscat "line from dtlscat"
start_dtlscat_server dtlscat -v --cert "$WORK/dtlscat.pem" --key "$WORK/dtlscat.key" \
  --peer-fingerprint "$EXPECTED_FP"

open_input client
send_line client "line from openssl s_client"
spawn client stdbuf -oL openssl s_client -dtls1_2 -connect "127.0.0.1:$PORT" \
  -cert "$WORK/foreign.pem" -key "$WORK/foreign.key" \
  -verify 1 -CAfile "$WORK/dtlscat.pem" -verify_return_error

want="error: fingerprint mismatch: expected $EXPECTED_FP, got $FOREIGN_FP"
wait_for dtlscat err '^127\.0\.0\.1:[0-9]+: error: fingerprint mismatch' 10 ||
  fail "dtlscat reported no fingerprint mismatch after the peer's address"
has_status dtlscat "$want" || fail "dtlscat did not print '$want'"
! grep -qE "^$PEER_PREFIX?handshake complete" "$WORK/dtlscat.err" ||
  fail "dtlscat reported a completed handshake"
[[ ! -s $WORK/dtlscat.out ]] || fail "dtlscat printed data on stdout: $(head -c 200 "$WORK/dtlscat.out")"
! grep -qE '^(->|<-) .*application_data' "$WORK/dtlscat.err" ||
  fail "application data crossed the wire: $(grep -E '^(->|<-) .*application_data' "$WORK/dtlscat.err")"

# s_client: handshake failed on the alert, nothing received.
wait_exit client 5
((RC[client] != 0 && RC[client] != 124)) ||
  fail "s_client exited ${RC[client]}, expected a handshake failure (124: still running)"
grep -q 'SSL alert number 42' "$WORK/client.err" || fail "s_client did not receive a bad_certificate alert"
! grep -q 'line from dtlscat' "$WORK/client.out" || fail "s_client received dtlscat's line"
running dtlscat || fail "the stranger ended dtlscat -l"

# The pinned client is served next, by the same dtlscat.
open_input good
spawn good stdbuf -oL openssl s_client -dtls1_2 -connect "127.0.0.1:$PORT" \
  -cert "$WORK/expected.pem" -key "$WORK/expected.key" \
  -verify 1 -CAfile "$WORK/dtlscat.pem" -verify_return_error
check_connected dtlscat "$EXPECTED_FP"
send_line good "line from the pinned s_client"
wait_for dtlscat out '^line from the pinned s_client$' ||
  fail "dtlscat did not print the pinned client's line"
wait_for good out 'line from dtlscat' || fail "the pinned s_client did not receive dtlscat's line"
! grep -qx 'line from openssl s_client' "$WORK/dtlscat.out" ||
  fail "dtlscat printed the refused client's line"
close_input dtlscat
wait_exit dtlscat
((RC[dtlscat] == 0)) || fail "dtlscat exited ${RC[dtlscat]} after EOF on stdin, expected 0"

pass "refused with '$want' (after the peer's address), no data either way, bad_certificate sent; dtlscat went on and served the pinned client"
