#!/usr/bin/env bash
# browser_test.sh: runs one case of browser_test.mjs after making sure what it needs is here:
# Debian's chromium and firefox-esr, Node.js and npm (installed with apt-get when missing and
# run as root), and puppeteer-core from the npm registry, installed once under WORK (in the build
# directory, never committed). Exit 77 (a skip, for meson) says why when something cannot be
# installed.
#
#   browser_test.sh WORK SERVER BROWSERS ARGS...
#     WORK      a directory of the build tree for node_modules and browser profiles
#     SERVER    the webrtc_server executable
#     BROWSERS  what the case needs: chromium, firefox or chromium,firefox
#     ARGS      passed to browser_test.mjs (--case ... --browser ...)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$1 server=$2 browsers=$3
shift 3
puppeteer_version=24.43.1

skip() {
  echo "SKIP: $*"
  exit 77
}

mkdir -p "$work"
# One installer at a time: meson may start several of these tests together.
exec 9>"$work/.install.lock"
flock 9

packages=()
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
case ",$browsers," in *,chromium,*) [ -x /usr/bin/chromium ] || packages+=(chromium) ;; esac
case ",$browsers," in *,firefox,*) [ -x /usr/bin/firefox-esr ] || packages+=(firefox-esr) ;; esac
if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    skip "needs the Debian packages ${packages[*]}; as root: apt-get install ${packages[*]}"
  fi
  echo "installing ${packages[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}"; } \
      >"$work/apt.log" 2>&1; then
    tail -20 "$work/apt.log"
    skip "apt-get could not install ${packages[*]} (log above)"
  fi
fi

modules="$work/node/node_modules"
if [ ! -f "$modules/puppeteer-core/package.json" ]; then
  echo "installing puppeteer-core@$puppeteer_version into $work/node (npm)"
  mkdir -p "$work/node"
  [ -f "$work/node/package.json" ] || echo '{"private": true}' >"$work/node/package.json"
  if ! npm install --prefix "$work/node" --no-audit --no-fund --loglevel=error \
      "puppeteer-core@$puppeteer_version" >"$work/npm.log" 2>&1; then
    tail -20 "$work/npm.log"
    skip "npm could not install puppeteer-core (log above)"
  fi
fi
flock -u 9

# The case runs in its own process group, so that a browser it started cannot outlive it.
exec setsid --wait node "$here/browser_test.mjs" --server "$server" --modules "$modules" \
  --work "$work" "$@"
