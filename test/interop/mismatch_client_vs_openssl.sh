#!/usr/bin/env bash
# dtlscat as client refuses an `openssl s_server` that presents a certificate other than the
# pinned one, before any data crosses: dtlscat exits 1 with
# "error: fingerprint mismatch: expected <pinned>, got <presented>", prints nothing on stdout,
# and no application_data record goes either way (dtlscat -v traces every datagram), although
# both sides have a line queued on stdin from the start; s_server receives no data, only a
# bad_certificate alert.
#
# usage: mismatch_client_vs_openssl.sh DTLSCAT
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
interop_init "$@"
require_tools openssl

make_dtlscat_identity
make_foreign_identity foreign FOREIGN_FP
make_foreign_identity expected EXPECTED_FP # pinned, never presented
[[ $FOREIGN_FP != "$EXPECTED_FP" ]] || fail "two fresh certificates with one fingerprint"

open_input server
send_line server "line from openssl s_server"
start_listening server out '^ACCEPT' \
  stdbuf -oL openssl s_server -dtls1_2 -accept 127.0.0.1:@PORT@ -naccept 1 \
  -cert "$WORK/foreign.pem" -key "$WORK/foreign.key" \
  -Verify 1 -CAfile "$WORK/dtlscat.pem" -verify_return_error

open_input dtlscat
send_line dtlscat "line from dtlscat"
spawn dtlscat "$DTLSCAT" -v --cert "$WORK/dtlscat.pem" --key "$WORK/dtlscat.key" \
  --peer-fingerprint "$EXPECTED_FP" 127.0.0.1 "$PORT"

wait_exit dtlscat 10
((RC[dtlscat] == 1)) || fail "dtlscat exited ${RC[dtlscat]} on a fingerprint mismatch, expected 1"
want="error: fingerprint mismatch: expected $EXPECTED_FP, got $FOREIGN_FP"
grep -qxF -- "$want" "$WORK/dtlscat.err" || fail "dtlscat did not print '$want'"
! grep -q '^handshake complete' "$WORK/dtlscat.err" || fail "dtlscat reported a completed handshake"
[[ ! -s $WORK/dtlscat.out ]] || fail "dtlscat printed data on stdout: $(head -c 200 "$WORK/dtlscat.out")"
! grep -qE '^(->|<-) .*application_data' "$WORK/dtlscat.err" ||
  fail "application data crossed the wire: $(grep -E '^(->|<-) .*application_data' "$WORK/dtlscat.err")"
! grep -q 'line from dtlscat' "$WORK/server.out" || fail "s_server received dtlscat's line"
# The refusal is told to the peer: a fatal bad_certificate alert (42).
wait_for server err 'SSL alert number 42' 3 || fail "s_server did not receive a bad_certificate alert"

pass "refused with '$want', exit 1, empty stdout, no application data either way, bad_certificate alert sent"
