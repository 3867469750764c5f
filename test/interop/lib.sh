# shellcheck shell=bash
# test/interop/lib.sh: shared helpers for the interoperability cases (sourced, not run).
#
# A case script is run as `CASE.sh DTLSCAT [ARGS...]` (see meson.build). It calls
# interop_init, which creates a private temp dir ($WORK) and an EXIT trap that kills every
# process the case started (by process id) and removes $WORK. Processes are started with
# `spawn NAME ...`: stdin from $WORK/NAME.in (a fifo the script holds open, written with
# `send_line NAME` and closed with `close_input NAME`), stdout to $WORK/NAME.out, stderr to
# $WORK/NAME.err, every one bounded by `timeout`. A case ends with pass/fail/skip: one line
# "PASS|FAIL|SKIP: <case>: <reason>", exit 0/1/77 (77 is meson's skip code). On failure the
# logs of every process are printed so that CI output explains it.
#
# Set INTEROP_KEEP=1 to keep $WORK after the run.

set -u

# Per-process bound (seconds) and the default bound of a single wait.
PROC_TIMEOUT=${PROC_TIMEOUT:-20}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-8}

CASE_NAME=$(basename "$0" .sh)
WORK=""
declare -A PID=()     # NAME -> pid of the `timeout` wrapping it
declare -A IN_FD=()   # NAME -> fd of our write end of NAME's stdin fifo
declare -A RC=()      # NAME -> exit status, once collected

log() { printf '%s\n' "$*" >&2; }

cleanup() {
  local name pid
  for name in "${!PID[@]}"; do
    pid=${PID[$name]}
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
  done
  for name in "${!PID[@]}"; do
    pid=${PID[$name]}
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  for name in "${!IN_FD[@]}"; do
    eval "exec ${IN_FD[$name]}>&-" 2>/dev/null
  done
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ ${INTEROP_KEEP:-0} == 1 ]]; then
      log "kept $WORK"
    else
      rm -rf "$WORK"
    fi
  fi
}

dump_logs() {
  local f
  local name status=""
  for name in "${!PID[@]}"; do
    if [[ -n ${RC[$name]:-} ]]; then status+=" $name=${RC[$name]}"
    elif running "$name"; then status+=" $name=running"
    else
      wait "${PID[$name]}" 2>/dev/null
      RC[$name]=$?
      status+=" $name=${RC[$name]}"
    fi
  done
  echo "---- logs of $CASE_NAME ($WORK); exit statuses:${status:- none} ----"
  for f in "$WORK"/*.out "$WORK"/*.err; do
    [[ -f $f ]] || continue
    echo "---- $(basename "$f") ----"
    cat -v "$f"
  done
  echo "---- end of logs ----"
}

pass() { echo "PASS: $CASE_NAME: $*"; exit 0; }
fail() { echo "FAIL: $CASE_NAME: $*"; dump_logs; exit 1; }
skip() { echo "SKIP: $CASE_NAME: $*"; exit 77; }

# interop_init DTLSCAT: checks the binary, makes $WORK, installs the EXIT trap.
interop_init() {
  DTLSCAT=${1:-}
  [[ -n $DTLSCAT && -x $DTLSCAT ]] || { echo "FAIL: $CASE_NAME: usage: $0 DTLSCAT ... (got '${DTLSCAT}')"; exit 1; }
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/dtlspp-interop.XXXXXX") || { echo "FAIL: $CASE_NAME: mktemp"; exit 1; }
  trap cleanup EXIT
  trap 'exit 1' INT TERM HUP
  command -v timeout >/dev/null || skip "coreutils timeout not found"
}

# require_tools TOOL...: installs the Debian package of each missing tool (root only),
# skips the case when it cannot.
require_tools() {
  local tool pkgs=() pkg
  for tool in "$@"; do
    command -v "$tool" >/dev/null && continue
    case $tool in
      openssl) pkg=openssl ;;
      gnutls-serv | gnutls-cli) pkg=gnutls-bin ;;
      *) skip "$tool is missing and no package is known for it" ;;
    esac
    [[ " ${pkgs[*]} " == *" $pkg "* ]] || pkgs+=("$pkg")
  done
  ((${#pkgs[@]})) || return 0
  [[ $(id -u) == 0 ]] || skip "missing ${pkgs[*]} (not root, cannot apt-get install)"
  command -v apt-get >/dev/null || skip "missing ${pkgs[*]} and there is no apt-get"
  log "installing ${pkgs[*]} with apt-get"
  # Cases run in parallel: take turns with the dpkg lock.
  (
    command -v flock >/dev/null && flock -w 300 9
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${pkgs[@]}" ||
      { apt-get -o DPkg::Lock::Timeout=300 update &&
        apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${pkgs[@]}"; }
  ) 9>"${TMPDIR:-/tmp}/dtlspp-interop-apt.lock" >&2 || skip "apt-get install ${pkgs[*]} failed"
  for tool in "$@"; do
    command -v "$tool" >/dev/null || skip "$tool still missing after installing ${pkgs[*]}"
  done
}

# free_udp_port: a UDP port on 127.0.0.1 that was free a moment ago (callers retry on a race).
free_udp_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
  else
    echo $((20000 + RANDOM % 40000))
  fi
}

# sha256_fp CERT: "sha-256 AB:CD:..." as dtlscat prints and parses it.
sha256_fp() {
  local fp
  fp=$(openssl x509 -noout -fingerprint -sha256 -in "$1") || return 1
  echo "sha-256 ${fp#*=}"
}

# make_dtlscat_identity: $WORK/dtlscat.pem|.key and DTLSCAT_FP (as dtlscat itself prints it, on
# stdout).
make_dtlscat_identity() {
  DTLSCAT_FP=$("$DTLSCAT" --generate-identity "$WORK/dtlscat.pem" "$WORK/dtlscat.key" \
    2>"$WORK/generate.err") || fail "dtlscat --generate-identity failed: $(cat "$WORK/generate.err")"
  [[ $DTLSCAT_FP == "$(sha256_fp "$WORK/dtlscat.pem")" ]] ||
    fail "dtlscat --generate-identity printed '$DTLSCAT_FP', openssl computes '$(sha256_fp "$WORK/dtlscat.pem")'"
}

# make_foreign_identity NAME VAR: a self-signed P-256 certificate $WORK/NAME.pem|.key; sets VAR
# to its fingerprint, computed by openssl from the certificate file.
make_foreign_identity() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$1" -keyout "$WORK/$1.key" -out "$WORK/$1.pem" >"$WORK/req-$1.log" 2>&1 ||
    fail "openssl req failed: $(cat "$WORK/req-$1.log")"
  local fp
  fp=$(sha256_fp "$WORK/$1.pem") || fail "openssl x509 -fingerprint failed on $1.pem"
  printf -v "$2" '%s' "$fp"
}

# srtp_profile PROFILE: checks the dtlscat/OpenSSL profile name and sets EXPORT_LEN, the bytes
# of its RFC 5764 export, 2 * (master key + master salt).
# shellcheck disable=SC2034 # EXPORT_LEN is read by the case scripts
srtp_profile() {
  case ${1:-} in
    SRTP_AES128_CM_SHA1_80) EXPORT_LEN=60 ;;
    SRTP_AEAD_AES_128_GCM) EXPORT_LEN=56 ;;
    *) fail "unknown or missing SRTP profile '${1:-}'" ;;
  esac
}

# open_input NAME: a fifo $WORK/NAME.in, held open for writing by this script.
open_input() {
  local fd
  mkfifo "$WORK/$1.in" || fail "mkfifo"
  exec {fd}<>"$WORK/$1.in"
  IN_FD[$1]=$fd
}

send_line() { printf '%s\n' "$2" >&"${IN_FD[$1]}"; }

close_input() {
  [[ -n ${IN_FD[$1]:-} ]] || return 0
  eval "exec ${IN_FD[$1]}>&-"
  unset "IN_FD[$1]"
}

# spawn NAME CMD...: starts CMD under timeout with the redirections above; stdin is the fifo
# NAME.in when open_input NAME was called, else /dev/null. The child closes our fifo ends, so
# that closing NAME's input is an EOF for it.
spawn() {
  local name=$1 in=/dev/null fd
  shift
  [[ -n ${IN_FD[$name]:-} ]] && in="$WORK/$name.in"
  (
    for fd in "${IN_FD[@]}"; do eval "exec $fd>&-"; done
    exec timeout -k 2 "$PROC_TIMEOUT" "$@"
  ) <"$in" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID[$name]=$!
  unset "RC[$name]"
}

running() { kill -0 "${PID[$1]}" 2>/dev/null; }

# stop_process NAME: ends NAME (SIGTERM, by its pid) and collects its status.
stop_process() {
  kill -TERM "${PID[$1]}" 2>/dev/null
  wait "${PID[$1]}" 2>/dev/null
  RC[$1]=$?
}

# wait_for NAME out|err REGEX [SECONDS]: until NAME's output matches (grep -E); fails early
# when NAME has exited without printing it.
wait_for() {
  local name=$1 file="$WORK/$1.$2" re=$3 deadline=$((SECONDS + ${4:-$WAIT_TIMEOUT}))
  while ((SECONDS <= deadline)); do
    grep -qE -- "$re" "$file" 2>/dev/null && return 0
    if ! running "$name"; then
      grep -qE -- "$re" "$file" 2>/dev/null && return 0
      return 1
    fi
    sleep 0.05
  done
  return 1
}

# wait_exit NAME [SECONDS]: waits for NAME to exit and sets RC[NAME]; 124 means we had to
# kill it (still running after SECONDS).
wait_exit() {
  local name=$1 deadline=$((SECONDS + ${2:-$WAIT_TIMEOUT})) rc
  while running "$name" && ((SECONDS <= deadline)); do sleep 0.05; done
  if running "$name"; then
    kill -TERM "${PID[$name]}" 2>/dev/null
    wait "${PID[$name]}" 2>/dev/null
    RC[$name]=124
    return
  fi
  wait "${PID[$name]}"
  rc=$?
  RC[$name]=$rc
}

# start_listening NAME READY_FILE READY_REGEX CMD... (with @PORT@ in CMD): starts a foreign
# server on a free port until it reports READY_REGEX on NAME.READY_FILE; sets PORT. A port
# taken between picking and binding is retried with another one.
start_listening() {
  local name=$1 file=$2 re=$3 attempt arg args
  shift 3
  for attempt in 1 2 3 4 5; do
    PORT=$(free_udp_port)
    args=()
    for arg in "$@"; do args+=("${arg//@PORT@/$PORT}"); done
    spawn "$name" "${args[@]}"
    wait_for "$name" "$file" "$re" 10 && return 0
    log "$name did not start on port $PORT (attempt $attempt): $(tail -n 3 "$WORK/$name.err")"
    kill -TERM "${PID[$name]}" 2>/dev/null
    wait "${PID[$name]}" 2>/dev/null
  done
  fail "$name did not start"
}

# start_dtlscat_server NAME ARGS...: dtlscat -l on 127.0.0.1, port 0; sets PORT from its
# "listening on 127.0.0.1:PORT" line.
start_dtlscat_server() {
  local name=$1
  shift
  spawn "$name" "$DTLSCAT" -l "$@" 127.0.0.1 0
  wait_for "$name" err '^listening on 127\.0\.0\.1:[0-9]+$' ||
    fail "dtlscat -l did not report 'listening on 127.0.0.1:PORT'"
  PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/$name.err")
}

# PEER_PREFIX matches the address dtlscat -l puts before each status line about a peer
# ("127.0.0.1:40001: "), an extended regular expression.
PEER_PREFIX='([0-9.]+:[0-9]+: |\[[^]]*\]:[0-9]+: )'

# field NAME out|err PREFIX: the rest of the first line of NAME's output that starts with
# PREFIX (an extended regular expression), after leading blanks and a dtlscat -l peer address.
field() {
  sed -n -E "s/^[[:space:]]*$PEER_PREFIX?$3//p" "$WORK/$1.$2" | head -n 1 | tr -d '\r'
}

# has_status NAME LINE: dtlscat NAME printed the status line LINE (a fixed string), alone or
# after a peer address.
has_status() {
  sed -E "s/^$PEER_PREFIX//" "$WORK/$1.err" | grep -qxF -- "$2"
}

# has_text NAME out|err TEXT: TEXT appears (fixed string) in NAME's output.
has_text() { grep -qF -- "$3" "$WORK/$1.$2"; }

upper() { tr '[:lower:]' '[:upper:]'; }

# check_keys DTLSCAT_NAME FOREIGN_KEYS LEN WHO: dtlscat's "srtp keying material:" equals the
# foreign export (case-insensitively) and is LEN bytes long.
check_keys() {
  local ours theirs
  ours=$(field "$1" err 'srtp keying material: ' | upper)
  theirs=$(printf '%s' "$2" | upper)
  [[ -n $ours ]] || fail "dtlscat printed no 'srtp keying material:' line"
  [[ -n $theirs ]] || fail "$4 printed no keying material"
  ((${#ours} == 2 * $3)) || fail "dtlscat's keying material is ${#ours} hex digits, expected $((2 * $3))"
  [[ $ours == "$theirs" ]] || fail "keying material differs: dtlscat $ours, $4 $theirs"
}

# check_profile: dtlscat agreed the SRTP profile $PROFILE.
check_profile() {
  local agreed
  agreed=$(field dtlscat err 'srtp profile: ')
  [[ $agreed == "$PROFILE" ]] || fail "dtlscat agreed SRTP profile '$agreed', expected $PROFILE"
}

# exchange_lines PEER WHO: one line each way between dtlscat and the foreign process PEER
# (WHO in messages); fails unless each side prints the other's line.
exchange_lines() {
  send_line "$1" "line from $2"
  send_line dtlscat "line from dtlscat"
  wait_for dtlscat out "^line from $2\$" || fail "dtlscat did not print the line $2 sent"
  wait_for "$1" out 'line from dtlscat' || fail "$2 did not receive the line dtlscat sent"
}

# expect_exit NAME STATUS WHEN: waits for NAME to end (as wait_exit) and fails unless it exited
# with STATUS; WHEN says after what, for the message.
expect_exit() {
  wait_exit "$1"
  ((RC[$1] == $2)) || fail "$1 exited ${RC[$1]} $3, expected $2 (124: still running)"
}

# check_connected NAME PEER_FP: dtlscat NAME completed the handshake with the peer it pinned.
check_connected() {
  wait_for "$1" err "^$PEER_PREFIX?handshake complete: " ||
    fail "dtlscat reported no completed handshake"
  local line
  line=$(field "$1" err 'handshake complete: ')
  [[ $line == *" peer=$2" ]] || fail "dtlscat's handshake line '$line' does not name peer $2"
}
