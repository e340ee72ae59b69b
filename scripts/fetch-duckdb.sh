#!/usr/bin/env bash
# Unpacks the pinned DuckDB shared library and its C API header from the npm
# registry into .deps/duckdb/{lib,include}, checking both against pinned
# SHA-256 digests. Does nothing when both files are already there and match.
set -euo pipefail

DUCKDB_VERSION=1.4.4
LIB_PACKAGE="@duckdb/node-bindings-linux-x64@1.4.4-r.4"
LIB_SHA256=1ef33048e12235115ac0d277a0aaccbb560e33248144f488b5ac005cd9ba81b5
HEADER_PACKAGE="duckdb@${DUCKDB_VERSION}"
HEADER_SHA256=cbe6a827284375c5a646b8f27dbd3a00808ce8738b5bbb49c190cb1e08540281

root=$(cd "$(dirname "$0")/.." && pwd)
prefix="${root}/.deps/duckdb"
lib="${prefix}/lib/libduckdb.so"
header="${prefix}/include/duckdb.h"

matches() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if matches "$lib" "$LIB_SHA256" && matches "$header" "$HEADER_SHA256"; then
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "${prefix}/lib" "${prefix}/include"
echo "fetching DuckDB ${DUCKDB_VERSION} (library and C API header) from the npm registry"
(cd "$work" && npm pack --silent "$LIB_PACKAGE" "$HEADER_PACKAGE" >/dev/null)

tar -xzf "$work"/duckdb-node-bindings-linux-x64-*.tgz -C "$work" package/libduckdb.so
matches "$work/package/libduckdb.so" "$LIB_SHA256" || { echo "libduckdb.so checksum mismatch" >&2; exit 1; }
install -m 0755 "$work/package/libduckdb.so" "$lib"

rm -rf "$work/package"
tar -xzf "$work"/duckdb-${DUCKDB_VERSION}.tgz -C "$work" package/src/duckdb/src/include/duckdb.h
matches "$work/package/src/duckdb/src/include/duckdb.h" "$HEADER_SHA256" || { echo "duckdb.h checksum mismatch" >&2; exit 1; }
install -m 0644 "$work/package/src/duckdb/src/include/duckdb.h" "$header"
