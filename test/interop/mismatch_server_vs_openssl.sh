#!/usr/bin/env bash
# dtlscat as server (-l) refuses an `openssl s_client` that presents a certificate other than
# the pinned one, before any data crosses: dtlscat exits 1 with
# "error: fingerprint mismatch: expected <pinned>, got <presented>", prints nothing on stdout,
# and no application_data record goes either way (dtlscat -v traces every datagram), although
# both sides have a line queued on stdin from the start; s_client receives no data and its
# handshake fails with a bad_certificate alert.
#
# usage: mismatch_server_vs_openssl.sh DTLSCAT
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
interop_init "$@"
require_tools openssl

make_dtlscat_identity
make_foreign_identity foreign FOREIGN_FP
make_foreign_identity expected EXPECTED_FP # pinned, never presented
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

wait_exit dtlscat 10
((RC[dtlscat] == 1)) || fail "dtlscat exited ${RC[dtlscat]} on a fingerprint mismatch, expected 1"
want="error: fingerprint mismatch: expected $EXPECTED_FP, got $FOREIGN_FP"
grep -qxF -- "$want" "$WORK/dtlscat.err" || fail "dtlscat did not print '$want'"
! grep -q '^handshake complete' "$WORK/dtlscat.err" || fail "dtlscat reported a completed handshake"
[[ ! -s $WORK/dtlscat.out ]] || fail "dtlscat printed data on stdout: $(head -c 200 "$WORK/dtlscat.out")"
! grep -qE '^(->|<-) .*application_data' "$WORK/dtlscat.err" ||
  fail "application data crossed the wire: $(grep -E '^(->|<-) .*application_data' "$WORK/dtlscat.err")"

# s_client: handshake failed on the alert, nothing received.
wait_exit client 5
((RC[client] != 0 && RC[client] != 124)) ||
  fail "s_client exited ${RC[client]}, expected a handshake failure (124: still running)"
grep -q 'SSL alert number 42' "$WORK/client.err" || fail "s_client did not receive a bad_certificate alert"
! grep -q 'line from dtlscat' "$WORK/client.out" || fail "s_client received dtlscat's line"

pass "refused with '$want', exit 1, empty stdout, no application data either way, bad_certificate alert sent"
