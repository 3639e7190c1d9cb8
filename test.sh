#!/usr/bin/env bash
# Every test of the project, with its own set-up: the README's test command, and what CI runs
# after its lint gates.
#
#   0. cargo deny (installed with cargo install when missing) against the advisory snapshot in
#      deploy/advisory-db;
#   1. a project-local Python environment (target/test-venv) with the pinned helper tools of
#      tools/test-requirements.txt (SMTP and S3 servers the tests start), reused while the pins
#      are unchanged; the tests find it through SPORTELLO_TEST_PYTHON;
#   2. the Rust suites on SQLite;
#   3. the integration suites again on PostgreSQL: SPORTELLO_TEST_POSTGRES if set, else the
#      server on 127.0.0.1:5432 (user postgres, no password), else a throw-away cluster made
#      with initdb/pg_ctl when PostgreSQL's binaries are installed;
#   4. the browser tests (e2e/run.sh: Debian's chromium, playwright-core from npm).
#
# Prerequisites: Rust, Python 3 with venv, Node >= 18, PostgreSQL (a server or its binaries),
# and Debian's chromium (or root, to let e2e/run.sh install it).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

say() { printf '== %s\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# --- 1. Python tools -------------------------------------------------------------------------
VENV="$ROOT/target/test-venv"
PINS="$ROOT/tools/test-requirements.txt"
pins_hash=$(sha256sum "$PINS" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.pins" 2>/dev/null)" != "$pins_hash" ]; then
    say "python test tools ($PINS) into $VENV"
    command -v python3 >/dev/null || die "python3 is required (Debian: apt-get install python3 python3-venv)"
    rm -rf "$VENV"
    mkdir -p "$ROOT/target"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            say "installing Debian's python3-venv"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            python3 -m venv "$VENV"
        else
            die "python3 cannot make a virtual environment: apt-get install python3-venv"
        fi
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$PINS"
    echo "$pins_hash" > "$VENV/.pins"
fi
export SPORTELLO_TEST_PYTHON="$VENV/bin/python"

# --- 3 (prepared first, so a missing server is said before a long build). PostgreSQL ----------
PG_URL=${SPORTELLO_TEST_POSTGRES:-}
PG_TMP=""
PG_BIN=""
as_pg=()
stop_pg() {
    if [ -n "$PG_TMP" ]; then
        "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_TMP"
    fi
}
trap stop_pg EXIT

listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

if [ -z "$PG_URL" ]; then
    if listening 127.0.0.1 5432; then
        PG_URL=postgres://postgres@127.0.0.1:5432
    else
        PG_BIN=$(dirname "$(command -v pg_ctl 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -1)")
        [ -x "$PG_BIN/initdb" ] || die "no PostgreSQL on 127.0.0.1:5432 and no initdb/pg_ctl to start one.
Start a server that accepts the user postgres without a password on 127.0.0.1:5432, or install
PostgreSQL's binaries (Debian: apt-get install postgresql), or set SPORTELLO_TEST_POSTGRES=postgres://…"
        PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sportello-test-pg.XXXXXX")
        PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        if [ "$(id -u)" = 0 ]; then
            # initdb refuses to run as root: the cluster belongs to the postgres user.
            id postgres >/dev/null 2>&1 || die "running as root without a postgres user: cannot make a throw-away cluster"
            chown postgres "$PG_TMP"
            as_pg=(runuser -u postgres --)
        fi
        say "a throw-away PostgreSQL cluster on 127.0.0.1:$PG_PORT ($PG_TMP)"
        "${as_pg[@]}" "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres -A trust >/dev/null
        "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w \
            -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_TMP -c fsync=on" start >/dev/null
        PG_URL="postgres://postgres@127.0.0.1:$PG_PORT"
    fi
fi

# --- The dependency tree -------------------------------------------------------------------------
say "cargo deny: advisories, licences, duplicate versions, bans, sources (deny.toml)"
# Built from crates.io when missing: about 6 CPU-minutes (3–4 minutes on two idle cores).
if ! cargo deny --version >/dev/null 2>&1; then
    cargo install --locked cargo-deny@0.20.2
fi
# The advisory database is the snapshot committed in deploy/advisory-db (CI reaches no git
# host). cargo-deny opens a database as a git checkout at <db-path>/<name>-<hash of its URL>:
# one is made from the snapshot, and checked with --offline.
advisories=target/advisory-dbs/advisory-db-3157b0e258782691
rm -rf "$advisories" && mkdir -p "$advisories"
cp -R deploy/advisory-db/. "$advisories"
git -C "$advisories" init -q
git -C "$advisories" add -A
git -C "$advisories" -c user.name=ci -c user.email=ci@localhost commit -q -m "snapshot"
snapshot=$(sed -n 's/^- commit date: \([0-9-]*\).*/\1/p' deploy/advisory-db/README.md)
age=$(( ( $(date +%s) - $(date -d "$snapshot" +%s) ) / 86400 ))
echo "advisory database snapshot of $snapshot ($age days old)"
if [ "$age" -gt 180 ]; then
    echo "warning: the advisory database snapshot is over 180 days old: refresh deploy/advisory-db (see its README)" >&2
fi
# --offline: cargo-deny's own `cargo metadata` may not download, yet it reads every crate of the
# lock file, those of other platforms too, which a build never fetched: fetch them first.
cargo fetch --locked
cargo deny --offline check

# --- 2. Rust on SQLite -------------------------------------------------------------------------
say "rust: unit, property and integration tests on SQLite"
env -u SPORTELLO_TEST_POSTGRES cargo test --workspace --locked

# --- 3. PostgreSQL pass --------------------------------------------------------------------------
say "rust: the integration suites on PostgreSQL ($PG_URL)"
# The first pass's build is reused: --workspace keeps the same features.
SPORTELLO_TEST_POSTGRES="$PG_URL" cargo test --workspace --locked --test it

# --- 4. Browser --------------------------------------------------------------------------------
say "browser: e2e/run.sh"
e2e/run.sh
