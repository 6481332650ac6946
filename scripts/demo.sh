#!/usr/bin/env bash
# The main job on real local servers: a MinIO seeded like OpenReplay's is copied to a
# second MinIO by `migrator copy`, then proven identical by `migrator verify`.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/.tools/bin:$PWD/bin:$PATH"
demo="$PWD/.demo"
rm -rf "$demo"
mkdir -p "$demo"
# Server data on tmpfs where there is one: MinIO syncs every write.
data="$demo"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then data=$(mktemp -d /dev/shm/migrator-demo-XXXXXX); fi

. scripts/ports.sh

# ready asks MinIO's readiness endpoint with bash alone: the demo needs no curl.
ready() { # port
  local status
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET /minio/health/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  read -r -t 5 _ status _ <&3 || true
  exec 3<&-
  [ "$status" = 200 ]
}

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "$data" = "$demo" ] || rm -rf "$data"
}
trap cleanup EXIT

# Keys are made fresh and passed through the environment only: never on a command line.
# MINIO_SYNC_BOOT: requests wait until MinIO has loaded its buckets' settings, which would
# otherwise overwrite a policy set in its first moments (internal/testenv/minio.go).
start_minio() { # name port -> starts a MinIO with its own data folder
  local name=$1 port=$2 key secret
  key="demo-$name"
  secret=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  mkdir -p "$data/$name"
  echo "$secret" >"$demo/$name.secret"
  MINIO_ROOT_USER=$key MINIO_ROOT_PASSWORD=$secret MINIO_BROWSER=off MINIO_UPDATE=off MINIO_SYNC_BOOT=on \
    minio server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$(free_port)" "$data/$name" \
    >"$demo/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do
    ready "$port" && return
    sleep 0.1
  done
  echo "MinIO $name did not start; see $demo/$name.log" >&2
  exit 1
}

src_port=$(free_port); start_minio source "$src_port"
dst_port=$(free_port); start_minio destination "$dst_port"
echo "== source MinIO on 127.0.0.1:$src_port, destination MinIO on 127.0.0.1:$dst_port"

echo "== seeding the source like an OpenReplay install (recordings, assets, sourcemaps)"
SEED_ACCESS_KEY=demo-source SEED_SECRET_KEY=$(cat "$demo/source.secret") \
  seed --endpoint "http://127.0.0.1:$src_port" --set demo
# The destination buckets exist, as `migrator preflight` would leave them.
SEED_ACCESS_KEY=demo-destination SEED_SECRET_KEY=$(cat "$demo/destination.secret") \
  seed --endpoint "http://127.0.0.1:$dst_port" --set none \
  --buckets openreplay-recordings,openreplay-assets,openreplay-sourcemaps

cat >"$demo/migrator.yaml" <<YAML
source:      {endpoint: http://127.0.0.1:$src_port, region: us-east-1}
destination: {endpoint: http://127.0.0.1:$dst_port, region: us-east-1}
buckets:     {mobs: openreplay-recordings, sessions-assets: openreplay-assets, sourcemaps: openreplay-sourcemaps}
# workers: left out, the migrator finds the number of objects in flight itself
stateDir: $demo/state
allowInsecure: true   # the demo's destination is a local MinIO on plain http
YAML
export MIGRATOR_SOURCE_ACCESS_KEY=demo-source MIGRATOR_SOURCE_SECRET_KEY=$(cat "$demo/source.secret")
export MIGRATOR_DESTINATION_ACCESS_KEY=demo-destination MIGRATOR_DESTINATION_SECRET_KEY=$(cat "$demo/destination.secret")

metrics_port=$(free_port)
echo "== migrator copy (metrics on http://127.0.0.1:$metrics_port/metrics while it runs)"
# /metrics serves while the copy runs; --metrics-file keeps the finished run's metrics,
# as node_exporter's textfile collector would read them after a cron run.
migrator copy --config "$demo/migrator.yaml" --metrics-addr "127.0.0.1:$metrics_port" --metrics-file "$demo/metrics.txt"

echo "== migrator verify"
migrator verify --config "$demo/migrator.yaml"

echo "== a second run copies nothing: two listings per bucket, no GET or PUT"
migrator sync --config "$demo/migrator.yaml" --progress off --log-format json 2>/dev/null | tail -1

echo "== the copy's metrics at its end ($demo/metrics.txt):"
grep -E '^openreplay_migrator_(objects_total|bytes_copied_total|progress_ratio)' "$demo/metrics.txt" || true
cat <<TXT

Done. The demo's two MinIO servers stop now, and its metrics address with them; what it
wrote stays in $demo: the config (migrator.yaml), the checkpoints (state/), the final
metrics (metrics.txt) and the servers' logs. To watch a copy of your own in Grafana, run
\`migrator serve --config YOUR-CONFIG --metrics-addr :9090\` against your stores and import
dashboards/openreplay-migrator.json.
TXT
