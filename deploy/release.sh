#!/usr/bin/env bash
# A release of Sportello, built from this checkout into dist/ (git-ignored):
#
#   dist/sportello-<version>-<target>.tar.gz    the binary, README.md, LICENSE, CHANGELOG.md,
#                                               man/sportello.1 and completions/ (bash, zsh, fish)
#   dist/sportello-<version>-<target>.cdx.json  a CycloneDX SBOM of what the binary is built from
#   dist/SHA256SUMS                             the checksums of this version's files in dist/
#
# Usage: deploy/release.sh [TARGET]      TARGET: a Rust target triple [default: this machine's]
#
# The version is the workspace's (Cargo.toml); the commit is HEAD's, which `sportello --version`
# prints. A checkout with uncommitted changes is refused (RELEASE_ALLOW_DIRTY=1 to build one
# anyway, for a try). The archive is reproducible from a commit: files sorted, owned by 0:0,
# dated at the commit (SOURCE_DATE_EPOCH), gzip without a name or time.
#
# Needs: a Rust toolchain with TARGET installed (`rustup target add TARGET`), git, tar, gzip,
# sha256sum; cargo-cyclonedx is installed from crates.io when missing (about 3 CPU-minutes,
# once). The SBOM describes the resolved dependency graph of the `sportello` package for TARGET
# (from Cargo.lock and `cargo metadata`), with each crate's licence and checksum.
set -euo pipefail
cd "$(dirname "$0")/.."

CYCLONEDX_VERSION=0.5.9

host=$(rustc -vV | sed -n 's/^host: //p')
target=${1:-$host}
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)
if [ -z "$version" ]; then
    echo "release: no version in Cargo.toml's [workspace.package]" >&2
    exit 1
fi
name="sportello-$version-$target"

# --- The commit ------------------------------------------------------------------------------
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    if [ -n "$(git status --porcelain)" ] && [ "${RELEASE_ALLOW_DIRTY:-0}" != 1 ]; then
        echo "release: uncommitted changes; commit them (or RELEASE_ALLOW_DIRTY=1 for a try)" >&2
        exit 1
    fi
    SPORTELLO_BUILD_COMMIT=$(git rev-parse --short=12 HEAD)
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
else
    # A source tarball: the packager says which commit it is, or the binary says `unknown`.
    SPORTELLO_BUILD_COMMIT=${SPORTELLO_BUILD_COMMIT:-unknown}
    SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(date +%s)}
fi
export SPORTELLO_BUILD_COMMIT SOURCE_DATE_EPOCH
echo "release: sportello $version ($SPORTELLO_BUILD_COMMIT) for $target"

# --- The binary ------------------------------------------------------------------------------
# Paths inside the binary (panic messages) name the source relative to the workspace, not the
# directory this checkout happens to be in.
export RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$PWD=."
target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release --locked -p sportello --target "$target"
binary="$target_dir/$target/release/sportello"

# The man page and the completions come from the binary's own command line. A binary built for
# another machine cannot run here: this machine's build of the same commit writes them.
describer=$binary
if [ "$target" != "$host" ]; then
    cargo build --release --locked -p sportello
    describer="$target_dir/release/sportello"
fi

# --- The archive -----------------------------------------------------------------------------
mkdir -p dist
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/man" "$root/completions"
install -m 0755 "$binary" "$root/sportello"
install -m 0644 README.md LICENSE CHANGELOG.md "$root/"
"$describer" man >"$root/man/sportello.1"
"$describer" completions bash >"$root/completions/sportello.bash"
"$describer" completions zsh >"$root/completions/_sportello"
"$describer" completions fish >"$root/completions/sportello.fish"
chmod 0644 "$root/man/sportello.1" "$root/completions/"*
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
    -C "$stage" -cf - "$name" | gzip -9 -n >"dist/$name.tar.gz"

# --- The SBOM --------------------------------------------------------------------------------
if ! cargo cyclonedx --version >/dev/null 2>&1; then
    cargo install --locked "cargo-cyclonedx@$CYCLONEDX_VERSION"
fi
# cargo-cyclonedx writes one file beside each workspace member's Cargo.toml: the binary's is
# kept, the others (the libraries it is built from, already inside it) removed.
cargo cyclonedx --manifest-path crates/sportello/Cargo.toml --format json --spec-version 1.5 \
    --target "$target" --all --override-filename "$name.cdx" --quiet
mv "crates/sportello/$name.cdx.json" "dist/$name.cdx.json"
find crates -name "$name.cdx.json" -delete

# --- The checksums ---------------------------------------------------------------------------
# Every target built of this version so far, so one SHA256SUMS covers the release.
(
    cd dist
    sha256sum -- "sportello-$version-"*.tar.gz "sportello-$version-"*.cdx.json >SHA256SUMS
)
echo "release: dist/$name.tar.gz, dist/$name.cdx.json, dist/SHA256SUMS"
