#!/usr/bin/env bash
# The end-to-end test of the back office: Debian's Chromium, headless, driven by playwright-core
# against the debug `sportello` binary (built if needed; never a release build, never a
# downloaded browser).
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "e2e: installing Debian's chromium"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "e2e: /usr/bin/chromium is missing: apt-get install chromium" >&2
        exit 1
    fi
fi
command -v node >/dev/null || { echo "e2e: node (>= 18) and npm are required" >&2; exit 1; }

# The browser comes from Debian: playwright-core never downloads one, and this says so twice.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
fi
# The binary `cargo test --workspace` builds for the binary tests: after ./test.sh's Rust passes
# this compiles nothing. (`cargo build -p sportello` would resolve features without the
# dev-dependencies and rebuild a third of the tree for a second, different binary.) From the
# repository root, so a relative CARGO_TARGET_DIR means the same directory here and in the test.
(cd .. && cargo test --workspace --locked --no-run --quiet)
npm test
