# Sourced by the other scripts: installs what the build needs and picks the
# shared target directory. Safe to source repeatedly.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# librocksdb-sys generates its bindings with bindgen, which needs libclang.
have_libclang() {
    ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 \
        || ls /usr/lib/*/libclang*.so* >/dev/null 2>&1 \
        || { [ -n "${LIBCLANG_PATH:-}" ] && ls "$LIBCLANG_PATH"/libclang*.so* >/dev/null 2>&1; }
}
if ! have_libclang; then
    echo "graph-storage: libclang is missing (needed to build RocksDB's bindings); installing libclang-dev..." >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq libclang-dev >&2
    have_libclang || { echo "graph-storage: libclang still missing after the install" >&2; exit 1; }
    echo "graph-storage: libclang installed." >&2
fi

# One target directory outside the checkout, shared by tests, benches and
# binaries (all built with --release, so librocksdb-sys compiles once).
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
    if [ -d /work ] && [ -w /work ]; then
        CARGO_TARGET_DIR=/work/target
    else
        CARGO_TARGET_DIR="$(cd "$root/.." && pwd)/target"
    fi
fi
export CARGO_TARGET_DIR
cd "$root"
