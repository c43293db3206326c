#!/usr/bin/env bash
# Builds a statically linked `forkspec` that can be copied alone into a target system (a
# sandbox, an emulator's root file system, a new kernel's initramfs) and run there:
#
#   examples/static-build.sh [OUT]      # default OUT: ./forkspec-static
#   scp forkspec-static target:/tmp/forkspec && ssh target /tmp/forkspec check --cases 200
#
# Uses the musl target when rustup has it installed, else glibc with +crt-static (the lab
# makes only raw system calls and needs no NSS or dlopen, so a static glibc binary is fine).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-forkspec-static}

if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
  target=x86_64-unknown-linux-musl
  CARGO_PROFILE_RELEASE_STRIP=symbols \
    cargo build --release --locked -p forkspec --bin forkspec --target "$target"
else
  target=x86_64-unknown-linux-gnu
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" CARGO_PROFILE_RELEASE_STRIP=symbols \
    cargo build --release --locked -p forkspec --bin forkspec --target "$target"
fi
bin="${CARGO_TARGET_DIR:-target}/$target/release/forkspec"
cp "$bin" "$out"

# Check it is static: no interpreter, no shared libraries.
if command -v file >/dev/null; then
  file "$out"
  file "$out" | grep -Eq 'statically linked|static-pie linked' || {
    echo "static-build: $out is not statically linked" >&2
    exit 1
  }
fi
# ldd says "not a dynamic executable" (exit 1) or, for static-pie, "statically linked".
if ldd "$out" 2>&1 | grep -q '=>'; then
  echo "static-build: ldd found dynamic dependencies in $out" >&2
  ldd "$out" >&2
  exit 1
fi
ldd "$out" 2>&1 | sed 's/^/ldd: /' || true

# Smoke test: the binary alone in an empty directory.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$out" "$dir/forkspec"
(cd "$dir" && env -i PATH=/usr/bin:/bin ./forkspec check --cases "${SMOKE_CASES:-200}")
echo "static-build: $out ($target) is self-contained"
