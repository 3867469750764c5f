#!/usr/bin/env bash
# dtlscat as server (-l) against `openssl s_client -dtls1_2`, both ends authenticated: dtlscat
# pins the fingerprint of the client's certificate file, s_client verifies dtlscat's
# certificate against that certificate itself. One line each way, the SRTP profile given as $2
# agreed, the RFC 5764 keying material identical, dtlscat's close_notify seen by s_client.
#
# usage: server_vs_openssl.sh DTLSCAT PROFILE
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
interop_init "$@"
PROFILE=${2:-}
CASE_NAME+=" ($PROFILE)"
require_tools openssl
srtp_profile "$PROFILE"

make_dtlscat_identity
make_foreign_identity foreign FOREIGN_FP

open_input dtlscat
start_dtlscat_server dtlscat -v --cert "$WORK/dtlscat.pem" --key "$WORK/dtlscat.key" \
  --peer-fingerprint "$FOREIGN_FP" --srtp "$PROFILE" --require-srtp

# s_client prints its connection info, the export included, on stdout once the handshake is
# done, then what it receives. -verify_return_error makes a failed verification of dtlscat's
# certificate (trusted through -CAfile) fatal.
open_input client
spawn client stdbuf -oL openssl s_client -dtls1_2 -connect "127.0.0.1:$PORT" \
  -cert "$WORK/foreign.pem" -key "$WORK/foreign.key" \
  -verify 1 -CAfile "$WORK/dtlscat.pem" -verify_return_error \
  -use_srtp "$PROFILE" -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen "$EXPORT_LEN"

check_connected dtlscat "$FOREIGN_FP"
grep -qE '^127\.0\.0\.1:[0-9]+: handshake complete: ' "$WORK/dtlscat.err" ||
  fail "dtlscat -l did not name its peer by address"
wait_for client out 'Keying material: ' || fail "s_client reported no completed handshake"
has_text client out "Verify return code: 0 (ok)" || fail "s_client did not verify dtlscat's certificate"

exchange_lines client "openssl s_client"

# EOF on dtlscat's stdin: close_notify, exit 0; s_client reads the close_notify and ends.
close_input dtlscat
expect_exit dtlscat 0 "after EOF on stdin"
has_status dtlscat closed || fail "dtlscat did not print 'closed'"
wait_exit client
((RC[client] == 0)) || fail "s_client exited ${RC[client]} after dtlscat's close_notify, expected 0 (124: still running)"

check_profile
has_text client out "SRTP Extension negotiated, profile=$PROFILE" ||
  fail "s_client did not report SRTP profile $PROFILE"
check_keys dtlscat "$(field client out 'Keying material: ')" "$EXPORT_LEN" "s_client"

pass "mutual authentication, one line each way, $PROFILE with identical $EXPORT_LEN-byte keying material, close_notify"
