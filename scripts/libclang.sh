# find_libclang [ROOT]: prints the first libclang shared library found the way
# bindgen (clang-sys) looks for it, and fails when there is none. ROOT (default
# empty, i.e. /) prefixes every system directory, so tests can point it at a
# fake layout. Looks in $LIBCLANG_PATH (a directory, or the library file
# itself, as clang-sys allows), `llvm-config --libdir`, then the usual system
# directories. Matches regular files (or symlinks to one) named libclang.so,
# libclang.so.N, libclang-N.so and libclang-N.so.M, never libclang-cpp (a
# different library bindgen cannot use). scripts/test-libclang tests it.
find_libclang() {
    local root="${1:-}" dir file base
    local dirs=()
    if [ -n "${LIBCLANG_PATH:-}" ]; then
        if [ -f "$LIBCLANG_PATH" ]; then
            base="${LIBCLANG_PATH##*/}"
            case "$base" in
                libclang-cpp*) ;;
                libclang.so | libclang.so.* | libclang-*.so | libclang-*.so.*)
                    echo "$LIBCLANG_PATH"
                    return 0
                    ;;
            esac
        else
            dirs+=("$LIBCLANG_PATH")
        fi
    fi
    if [ -z "$root" ] && command -v llvm-config >/dev/null 2>&1; then
        dirs+=("$(llvm-config --libdir 2>/dev/null)")
    fi
    for dir in "$root"/usr/lib/llvm-*/lib "$root"/usr/lib/*-linux-gnu "$root"/usr/lib64 \
        "$root"/usr/lib "$root"/usr/local/lib "$root"/usr/local/llvm/lib; do
        dirs+=("$dir")
    done
    for dir in "${dirs[@]}"; do
        [ -d "$dir" ] || continue
        for file in "$dir"/libclang.so "$dir"/libclang.so.* "$dir"/libclang-*.so "$dir"/libclang-*.so.*; do
            [ -f "$file" ] || continue
            base="${file##*/}"
            case "$base" in libclang-cpp*) continue ;; esac
            echo "$file"
            return 0
        done
    done
    return 1
}
