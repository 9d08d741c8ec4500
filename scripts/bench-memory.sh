#!/usr/bin/env bash
# Peak memory (max RSS) and wall time of `kompile convert` on generated compose files of
# 1, 100, 1,000 and 10,000 services, against a baseline process that only parses the same
# YAML and re-emits it (the `--one-shot baseline` mode of benches/convert.rs, which uses
# kompile's own YAML reader and writer). Then the whole-process time of a typical 5-service
# app, with hyperfine when it is installed (`apt-get install hyperfine`), else a loop of 50
# runs.
#
# Usage: scripts/bench-memory.sh            (from anywhere; builds release binaries first)
# Not part of `cargo test`. Numbers are recorded in docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-"1 100 1000 10000"}

echo "building release binaries..." >&2
cargo build --release --quiet
BENCH_BIN=$(cargo bench --bench convert --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "convert" and msg.get("executable"):
        print(msg["executable"])
')
KOMPILE=target/release/kompile
[ -x "$KOMPILE" ] && [ -x "$BENCH_BIN" ] || { echo "release binaries missing" >&2; exit 2; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The generator of benches/convert.rs, so that both measure the same input.
gen() {
    "$BENCH_BIN" --generate "$1"
}

# measure CMD...: prints "<max RSS KiB> <wall seconds>" for one run, stdout discarded.
if [ -x /usr/bin/time ]; then
    measure() {
        /usr/bin/time -f '%M %e' -o "$TMP/time.out" "$@" > /dev/null 2> "$TMP/stderr.out" \
            || { echo "failed: $* ($(head -3 "$TMP/stderr.out"))" >&2; exit 1; }
        cat "$TMP/time.out"
    }
else
    # No GNU time: the kernel's peak RSS of the waited-for child, via getrusage.
    measure() {
        python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.monotonic() - t
if rc != 0:
    sys.exit(f"failed: {sys.argv[1:]}")
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, f"{wall:.2f}")
PY
    }
fi

echo
echo "Peak RSS (one run each; MiB) and wall time (s)"
echo
echo "| services | input | kompile convert (CLI) | same, in-process (bench binary) | baseline: parse + re-emit | memory ratio CLI/baseline | time ratio CLI/baseline |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
read -r floor_kb _ < <(measure "$KOMPILE" --version)
for n in $SIZES; do
    file="$TMP/compose-$n.yaml"
    gen "$n" > "$file"
    size=$(wc -c < "$file")
    read -r cli_kb cli_s < <(measure "$KOMPILE" convert -f "$file")
    read -r lib_kb lib_s < <(measure "$BENCH_BIN" --one-shot convert "$file")
    read -r base_kb base_s < <(measure "$BENCH_BIN" --one-shot baseline "$file")
    python3 - "$n" "$size" "$cli_kb" "$cli_s" "$lib_kb" "$lib_s" "$base_kb" "$base_s" <<'PY'
import sys
n, size, cli_kb, cli_s, lib_kb, lib_s, base_kb, base_s = sys.argv[1:]
mib = lambda kb: f"{int(kb) / 1024:.1f} MiB"
t = lambda s: f"{float(s):.2f} s"
tr = f"{float(cli_s) / float(base_s):.2f}x" if float(base_s) > 0 else "n/a (<10 ms)"
print(f"| {n} | {int(size) / 1024:.0f} KiB | {mib(cli_kb)}, {t(cli_s)} | {mib(lib_kb)}, {t(lib_s)} "
      f"| {mib(base_kb)}, {t(base_s)} | {int(cli_kb) / int(base_kb):.2f}x | {tr} |")
PY
done
echo
echo "Process floor: \`kompile --version\` peaks at $((floor_kb / 1024)) MiB."

# A typical app: web front end, API, worker, Postgres, Redis.
app="$TMP/app/compose.yaml"
mkdir -p "$TMP/app"
cat > "$app" <<'YAML'
services:
  web:
    image: nginx:1.27
    ports:
      - "8080:80"
    depends_on:
      - api
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost/"]
      interval: 30s
  api:
    image: example/api:2.4.1
    ports:
      - "3000:3000"
    environment:
      DATABASE_URL: postgres://app:secret@db:5432/app
      REDIS_URL: redis://cache:6379/0
      LOG_LEVEL: info
    depends_on:
      - db
      - cache
    deploy:
      replicas: 2
      resources:
        limits:
          cpus: "1"
          memory: 512M
  worker:
    image: example/api:2.4.1
    command: ["bundle", "exec", "sidekiq"]
    environment:
      DATABASE_URL: postgres://app:secret@db:5432/app
      REDIS_URL: redis://cache:6379/0
    depends_on:
      - db
      - cache
  db:
    image: postgres:16
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: secret
      POSTGRES_DB: app
    ports:
      - "5432:5432"
    volumes:
      - pgdata:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U app"]
      interval: 10s
      timeout: 5s
      retries: 5
  cache:
    image: redis:7
    ports:
      - "6379:6379"
    volumes:
      - redisdata:/data
volumes:
  pgdata: {}
  redisdata: {}
YAML
"$KOMPILE" convert -f "$app" > /dev/null 2> "$TMP/app.err" || { cat "$TMP/app.err" >&2; exit 1; }
read -r app_kb _ < <(measure "$KOMPILE" convert -f "$app")
echo
echo "Typical 5-service app (whole process, \`kompile convert -f compose.yaml > /dev/null\`); peak RSS $((app_kb / 1024)) MiB"
echo
if command -v hyperfine > /dev/null; then
    hyperfine --warmup 5 --runs 50 -N --style basic "$KOMPILE convert -f $app" 2>&1 | sed "s|$TMP|\$TMP|g"
else
    total=0
    min=
    for _ in $(seq 50); do
        t0=$(date +%s%N)
        "$KOMPILE" convert -f "$app" > /dev/null 2>&1
        t=$(( $(date +%s%N) - t0 ))
        total=$((total + t))
        if [ -z "$min" ] || [ "$t" -lt "$min" ]; then min=$t; fi
    done
    echo "50 runs (date +%s%N loop): mean $((total / 50 / 1000)) µs, min $((min / 1000)) µs"
fi
