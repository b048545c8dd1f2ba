#!/usr/bin/env bash
# Runs the benchmarks of docs/PERFORMANCE.md and keeps their reports:
# builds shelf and the benchmarks, installs tusd v2.10.0 (the peer of
# bench/upload) if it is missing, runs bench/upload, bench/ingest, bench/list,
# bench/files, bench/search, bench/load, bench/bombs and bench/writer, and tees each report
# (Markdown) into bench/out/ (ignored by git).
#
#   scripts/bench.sh              every benchmark
#   scripts/bench.sh upload       one of them (upload, list, files, ingest, search, load, bombs or writer)
#
# Extra flags go through UPLOAD_FLAGS, LIST_FLAGS, FILES_FLAGS, INGEST_FLAGS,
# SEARCH_FLAGS, LOAD_FLAGS, BOMBS_FLAGS and WRITER_FLAGS, e.g.
#   UPLOAD_FLAGS="-runs 5 -size 268435456" scripts/bench.sh upload
#   SEARCH_FLAGS="-parts quality,throughput" scripts/bench.sh search
# Run it as root on an otherwise idle machine: the benchmarks drop the page
# cache between phases when they may, and every figure is a ratio against
# a ceiling or a peer measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
# SQLite's FTS5 is compiled into the driver only with this tag (see Makefile).
export GOFLAGS="${GOFLAGS:-} -tags=sqlite_fts5"
GO=${GO:-go}
TUSD_VERSION=v2.10.0
which=${1:-all}
case "$which" in all | upload | list | files | ingest | search | load | bombs | writer) ;; *)
  echo "usage: scripts/bench.sh [upload|list|files|ingest|search|load|bombs|writer]" >&2
  exit 2
  ;;
esac

out=bench/out
mkdir -p "$out/bin"
stamp=$(date -u +%Y%m%dT%H%M%SZ)

echo "== build" >&2
$GO build -o "$out/bin/shelf" ./cmd/shelf
$GO build -o "$out/bin/bench-upload" ./bench/upload
$GO build -o "$out/bin/bench-list" ./bench/list
$GO build -o "$out/bin/bench-files" ./bench/files
$GO build -o "$out/bin/bench-search" ./bench/search
$GO build -o "$out/bin/bench-bombs" ./bench/bombs
$GO build -o "$out/bin/bench-writer" ./bench/writer

if [ "$which" = all ] || [ "$which" = upload ]; then
  gobin=$($GO env GOBIN)
  [ -n "$gobin" ] || gobin="$($GO env GOPATH | cut -d: -f1)/bin"
  tusd="$gobin/tusd"
  if ! $GO version -m "$tusd" 2>/dev/null | grep -q "github.com/tus/tusd/v2[[:space:]]*$TUSD_VERSION"; then
    echo "== go install github.com/tus/tusd/v2/cmd/tusd@$TUSD_VERSION" >&2
    $GO install "github.com/tus/tusd/v2/cmd/tusd@$TUSD_VERSION"
  fi
  echo "== bench/upload (report: $out/upload-$stamp.md)" >&2
  # shellcheck disable=SC2086 # UPLOAD_FLAGS is a list of flags
  BENCH_COMMAND="UPLOAD_FLAGS=\"${UPLOAD_FLAGS:-}\" scripts/bench.sh upload" \
    "$out/bin/bench-upload" -shelf "$out/bin/shelf" -tusd "$tusd" ${UPLOAD_FLAGS:-} | tee "$out/upload-$stamp.md"
fi

if [ "$which" = all ] || [ "$which" = ingest ]; then
  echo "== bench/ingest (report: $out/ingest-$stamp.md)" >&2
  # shellcheck disable=SC2086 # INGEST_FLAGS is a list of flags
  BENCH_COMMAND="INGEST_FLAGS=\"${INGEST_FLAGS:-}\" scripts/bench.sh ingest" \
    $GO run ./bench/ingest ${INGEST_FLAGS:-} | tee "$out/ingest-$stamp.md"
fi

if [ "$which" = all ] || [ "$which" = list ]; then
  echo "== bench/list (report: $out/list-$stamp.md)" >&2
  # shellcheck disable=SC2086 # LIST_FLAGS is a list of flags
  BENCH_COMMAND="LIST_FLAGS=\"${LIST_FLAGS:-}\" scripts/bench.sh list" \
    "$out/bin/bench-list" -shelf "$out/bin/shelf" ${LIST_FLAGS:-} | tee "$out/list-$stamp.md"
fi

if [ "$which" = all ] || [ "$which" = files ]; then
  echo "== bench/files (report: $out/files-$stamp.md)" >&2
  # shellcheck disable=SC2086 # FILES_FLAGS is a list of flags
  BENCH_COMMAND="FILES_FLAGS=\"${FILES_FLAGS:-}\" scripts/bench.sh files" \
    "$out/bin/bench-files" -shelf "$out/bin/shelf" ${FILES_FLAGS:-} | tee "$out/files-$stamp.md"
fi

if [ "$which" = all ] || [ "$which" = search ]; then
  echo "== bench/search (report: $out/search-$stamp.md)" >&2
  # shellcheck disable=SC2086 # SEARCH_FLAGS is a list of flags
  BENCH_COMMAND="SEARCH_FLAGS=\"${SEARCH_FLAGS:-}\" scripts/bench.sh search" \
    "$out/bin/bench-search" -shelf "$out/bin/shelf" ${SEARCH_FLAGS:-} | tee "$out/search-$stamp.md"
fi

if [ "$which" = all ] || [ "$which" = load ]; then
  echo "== bench/load (report: $out/load-$stamp.md)" >&2
  # shellcheck disable=SC2086 # LOAD_FLAGS is a list of flags
  BENCH_COMMAND="LOAD_FLAGS=\"${LOAD_FLAGS:-}\" scripts/bench.sh load" \
    $GO run ./bench/load ${LOAD_FLAGS:-} | tee "$out/load-$stamp.md"
fi

if [ "$which" = all ] || [ "$which" = bombs ]; then
  echo "== bench/bombs (report: $out/bombs-$stamp.md)" >&2
  # shellcheck disable=SC2086 # BOMBS_FLAGS is a list of flags
  BENCH_COMMAND="BOMBS_FLAGS=\"${BOMBS_FLAGS:-}\" scripts/bench.sh bombs" \
    "$out/bin/bench-bombs" -shelf "$out/bin/shelf" ${BOMBS_FLAGS:-} | tee "$out/bombs-$stamp.md"
fi

if [ "$which" = all ] || [ "$which" = writer ]; then
  echo "== bench/writer (report: $out/writer-$stamp.md)" >&2
  # shellcheck disable=SC2086 # WRITER_FLAGS is a list of flags
  BENCH_COMMAND="WRITER_FLAGS=\"${WRITER_FLAGS:-}\" scripts/bench.sh writer" \
    "$out/bin/bench-writer" -shelf "$out/bin/shelf" ${WRITER_FLAGS:-} | tee "$out/writer-$stamp.md"
fi
