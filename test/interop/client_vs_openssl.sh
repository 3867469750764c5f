#!/usr/bin/env bash
# dtlscat as client against `openssl s_server -dtls1_2` (which answers the first ClientHello
# with a HelloVerifyRequest), both ends authenticated: dtlscat pins the fingerprint of the
# server's certificate file, s_server requires and verifies dtlscat's certificate. One line
# each way, the SRTP profile given as $2 agreed, the RFC 5764 keying material identical.
#
# usage: client_vs_openssl.sh DTLSCAT PROFILE
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
interop_init "$@"
PROFILE=${2:-}
CASE_NAME+=" ($PROFILE)"
require_tools openssl
srtp_profile "$PROFILE"

make_dtlscat_identity
make_foreign_identity foreign FOREIGN_FP

# s_server: cookie exchange (HelloVerifyRequest) is on by default for DTLS; -Verify 1 requires
# a client certificate, -CAfile trusts dtlscat's self-signed one, -verify_return_error makes a
# verification failure fatal. It prints its connection info, the export included, on stdout
# once the handshake is done, and what it receives on stdout too.
open_input server
start_listening server out '^ACCEPT' \
  stdbuf -oL openssl s_server -dtls1_2 -accept 127.0.0.1:@PORT@ -naccept 1 \
  -cert "$WORK/foreign.pem" -key "$WORK/foreign.key" \
  -Verify 1 -CAfile "$WORK/dtlscat.pem" -verify_return_error \
  -use_srtp "$PROFILE" -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen "$EXPORT_LEN"

open_input dtlscat
spawn dtlscat "$DTLSCAT" -v --cert "$WORK/dtlscat.pem" --key "$WORK/dtlscat.key" \
  --peer-fingerprint "$FOREIGN_FP" --srtp "$PROFILE" --require-srtp 127.0.0.1 "$PORT"

check_connected dtlscat "$FOREIGN_FP"
grep -qE '^<- .*hello_verify_request' "$WORK/dtlscat.err" ||
  fail "s_server sent no HelloVerifyRequest (the case must exercise the cookie exchange)"
wait_for server out 'Keying material: ' || fail "s_server reported no completed handshake"

# s_server saw and accepted dtlscat's certificate.
sed -n '/^Client certificate/,/^-----END CERTIFICATE-----/p' "$WORK/server.out" |
  sed 1d >"$WORK/client-cert-seen.pem"
seen=$(sha256_fp "$WORK/client-cert-seen.pem" 2>/dev/null)
[[ $seen == "$DTLSCAT_FP" ]] || fail "s_server shows client certificate '$seen', dtlscat is $DTLSCAT_FP"

exchange_lines server "openssl s_server"

# EOF on dtlscat's stdin: close_notify, exit 0.
close_input dtlscat
expect_exit dtlscat 0 "after EOF on stdin"
has_status dtlscat closed || fail "dtlscat did not print 'closed'"

check_profile
has_text server out "SRTP Extension negotiated, profile=$PROFILE" ||
  fail "s_server did not report SRTP profile $PROFILE"
check_keys dtlscat "$(field server out 'Keying material: ')" "$EXPORT_LEN" "s_server"

pass "HelloVerifyRequest handled, mutual authentication, one line each way, $PROFILE with identical $EXPORT_LEN-byte keying material"
