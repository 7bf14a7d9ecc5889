# Sourced by the other scripts: installs what the build needs. Safe to source
# repeatedly. The target directory is cargo's own default (`target/` in the
# checkout) unless the caller sets CARGO_TARGET_DIR.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/libclang.sh"

# librocksdb-sys generates its bindings with bindgen, which needs libclang
# itself (libclang.so or libclang-N.so.1; libclang-cpp is a different library).
if ! find_libclang >/dev/null; then
    echo "graph-storage: libclang is missing (bindgen needs it to build RocksDB's bindings); installing libclang-dev..." >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev >&2
    if ! find_libclang >/dev/null; then
        echo "graph-storage: libclang still missing after installing libclang-dev; set LIBCLANG_PATH to the directory holding libclang.so" >&2
        exit 1
    fi
    echo "graph-storage: libclang installed ($(find_libclang))." >&2
fi

# Everything is built with --release (one profile), so librocksdb-sys
# compiles once per target directory for tests, benches and binaries.
cd "$root"
