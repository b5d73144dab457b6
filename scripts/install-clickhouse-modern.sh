#!/usr/bin/env bash
# Installs the modern ClickHouse the tests run besides Debian's 18.16:
# npm's @chdb/lib-linux-x64-gnu (ClickHouse 26.7.2.1 built as a library,
# ~170 MB download, pinned: other builds are untested) into a cache
# directory outside the repository, and builds the small C launcher that
# serves it on a native TCP port (schema/clickhouse/chtest/launcher).
# schema/clickhouse/chtest finds the launcher there (or at
# $HOOKSCOPE_CLICKHOUSE_MODERN). Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg="@chdb/lib-linux-x64-gnu@26.7.3-stable.1"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/hookscope/chdb-26.7.3-stable.1"
lib="$dir/node_modules/@chdb/lib-linux-x64-gnu"
src=schema/clickhouse/chtest/launcher/chlaunch.c
if [ ! -f "$lib/libchdb.so" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "$pkg"
fi
if [ ! -x "$dir/chlaunch" ] || [ "$src" -nt "$dir/chlaunch" ]; then
  gcc -O2 -Wall -o "$dir/chlaunch.tmp" "$src" -L"$lib" -lchdb -lutil -Wl,-rpath,"$lib"
  mv "$dir/chlaunch.tmp" "$dir/chlaunch"
fi
echo "ClickHouse 26.7 launcher: $dir/chlaunch"
