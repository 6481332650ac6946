#!/usr/bin/env bash
# `make bench-scale` (not part of `make test`): listing at scale.
#
# One million small recordings (BENCH_SCALE_OBJECTS) are seeded once into a MinIO data
# folder kept in BENCH_SCALE_CACHE (default .bench-scale-cache/), in chunks recorded as
# they complete, so an interrupted seed resumes where it stopped; the destination is a
# copy of that folder, so every sync measured here has nothing to copy and measures the
# listing alone. Then:
#   (a) a no-op sync with listing.ranges 1, 4 and 16 (BENCH_SCALE_RANGES), on loopback and
#       with both servers behind tools/wanproxy (toxiproxy) adding BENCH_SCALE_RTT=40 ms to
#       every round trip: wall time, listing requests (counted by both servers), peak RSS;
#   (a') the same syncs with each MinIO's listing answered by tools/listfront, a stand-in
#       for a store whose listing is served by a fleet (AWS S3, GCS): on this machine the
#       two MinIOs' CPU, not the link, bounds (a); BENCH_SCALE_FLEET=off skips it;
#   (b) the listing requests of shards 1, 4 and 8 (BENCH_SCALE_SHARDS) running at once,
#       first pass and second, against one single-stream listing (through listfront,
#       where it runs); peak RSS of the largest shard;
#   and first what a listing page costs the source MinIO's CPU, continued by its token
#   against begun afresh (start-after), as every range's first request is.
# Each measured sync follows an unmeasured one with the same state folder, as a scheduled
# sync follows the last: its ranges are split where the previous pass found the keys.
# Writes the section "Ten million objects" of bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
PATH="$root/.tools/bin:$root/bin:$PATH"
objects=${BENCH_SCALE_OBJECTS:-1000000}
cache=${BENCH_SCALE_CACHE:-$root/.bench-scale-cache}
ranges_list=${BENCH_SCALE_RANGES:-1 4 16}
shards_list=${BENCH_SCALE_SHARDS:-1 4 8}
rtt=${BENCH_SCALE_RTT:-40}
chunk=20000
work="$root/.bench-scale"
results="$root/bench/results.md"
rm -rf "$work"
mkdir -p "$work" "$cache"

go build -o bin/migrator ./cmd/migrator
go build -o bin/seed ./tools/seed
go build -o bin/wanproxy ./tools/wanproxy
go build -o bin/benchctl ./tools/benchctl
go build -o bin/listfront ./tools/listfront
if [ ! -x /usr/bin/time ]; then
  apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi

declare -A pid port
proxies=()
cleanup() {
  for p in "${proxies[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in "${!pid[@]}"; do kill "${pid[$n]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

. "$root/scripts/ports.sh"

# Keys live in the data folders (MinIO keeps its root credentials' IAM state there), so
# they are fixed per cache, kept in a file beside it, and passed through the environment.
[ -s "$cache/keys" ] || { head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$cache/keys"; }
secret=$(cat "$cache/keys")
export MIGRATOR_SOURCE_ACCESS_KEY=bench-scale MIGRATOR_SOURCE_SECRET_KEY=$secret
export MIGRATOR_DESTINATION_ACCESS_KEY=bench-scale MIGRATOR_DESTINATION_SECRET_KEY=$secret

start_minio() { # name folder
  local name=$1 dir=$2
  port[$name]=$(free_port)
  MINIO_ROOT_USER=bench-scale MINIO_ROOT_PASSWORD=$secret MINIO_BROWSER=off MINIO_UPDATE=off \
    MINIO_PROMETHEUS_AUTH_TYPE=public MINIO_SCANNER_SPEED=slowest MINIO_SCANNER_IDLE_SPEED=off MINIO_SYNC_BOOT=on \
    minio server --quiet --address "127.0.0.1:${port[$name]}" --console-address "127.0.0.1:$(free_port)" "$dir" \
    >"$work/minio-$name.log" 2>&1 &
  pid[$name]=$!
  for _ in $(seq 1 600); do
    kill -0 "${pid[$name]}" 2>/dev/null || break
    curl -fs "http://127.0.0.1:${port[$name]}/minio/health/ready" >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "MinIO $name did not start; see $work/minio-$name.log" >&2
  exit 1
}
stop_minio() {
  [ -n "${pid[$1]:-}" ] || return 0
  kill "${pid[$1]}" 2>/dev/null || true
  wait "${pid[$1]}" 2>/dev/null || true
  unset "pid[$1]"
}

# listings server: ListObjects requests the server has answered so far.
listings() {
  if [[ $1 == front-* ]]; then
    curl -fs "http://127.0.0.1:${port[$1]}/_listings"
    return
  fi
  curl -fs "http://127.0.0.1:${port[$1]}/minio/metrics/v3/api/requests" |
    awk '/^minio_api_requests_total\{/ && /type="s3"/ && /name="List/ { n += $NF } END { printf "%d", n }'
}

seed_source() {
  local done=0
  [ -s "$cache/source.seeded" ] && done=$(cat "$cache/source.seeded")
  [ "$done" -lt "$objects" ] || return 0
  echo "== seeding $objects recordings into $cache/source (from $done; resumable)"
  start_minio source "$cache/source"
  while [ "$done" -lt "$objects" ]; do
    local n=$((objects - done < chunk ? objects - done : chunk))
    SEED_ACCESS_KEY=bench-scale SEED_SECRET_KEY=$secret seed --endpoint "http://127.0.0.1:${port[source]}" \
      --set scale --from "$done" --objects "$n" --workers 32 >/dev/null
    done=$((done + n))
    echo "$done" >"$cache/source.seeded"
    printf '   %d of %d\n' "$done" "$objects"
  done
  stop_minio source
  rm -rf "$cache/destination" "$cache/destination.seeded"
}

copy_destination() {
  [ "$(cat "$cache/destination.seeded" 2>/dev/null)" = "$(cat "$cache/source.seeded")" ] && return 0
  echo "== the source's data folder as the destination's (every sync then has nothing to copy)"
  rm -rf "$cache/destination"
  mkdir -p "$cache/destination"
  # MinIO's own folder is copied, the buckets' folders linked: a copy of a million objects'
  # folders took over 20 minutes, links a few. Both servers then share each object's
  # metadata file, which only a write to that object would change: the syncs here
  # copy nothing.
  cp -a "$cache/source/.minio.sys" "$cache/destination/"
  for d in "$cache/source"/*; do cp -al "$d" "$cache/destination/"; done
  cat "$cache/source.seeded" >"$cache/destination.seeded"
}

# proxy name: a wanproxy in front of the server; sets proxy_addr.
# await_addr pid file what: the address a tool prints first, waited for while it runs.
await_addr() {
  local a
  while kill -0 "$1" 2>/dev/null; do
    a=$(head -1 "$2" 2>/dev/null || true)
    [ -z "$a" ] || { echo "$a"; return 0; }
    sleep 0.1
  done
  echo "$3 did not start" >&2
  exit 1
}

proxy() {
  local out="$work/proxy-$1"
  wanproxy -upstream "127.0.0.1:${port[$1]}" -rtt "${rtt}ms" >"$out" &
  proxies+=($!)
  proxy_addr=$(await_addr $! "$out" "wanproxy $1")
}

config() { # file source-url destination-url state ranges
  {
    echo "source:      {endpoint: $2, region: us-east-1}"
    echo "destination: {endpoint: $3, region: us-east-1}"
    echo "buckets:     {mobs: mobs}"
    echo "stateDir: $4"
    echo "allowInsecure: true"
    echo "listing: {ranges: $5}"
  } >"$1"
}

. "$root/scripts/timed.sh"
. "$root/scripts/splice_results.sh"

# servers_cpu [name...]: CPU seconds the servers (default both) have used so far (what
# their listings cost).
servers_cpu() {
  local t=0 n names=("$@")
  [ $# -gt 0 ] || names=(source destination)
  for n in "${names[@]}"; do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/${pid[$n]}/stat")))
  done
  echo "$t $(getconf CLK_TCK)" | awk '{ printf "%.2f", $1 / $2 }'
}

# sync_once tag config: one no-op sync, measured; sets wall, rss, lists (both sides'
# listing servers, named in lister) and scpu (the CPU seconds of every server).
lister=(source destination)
sync_once() {
  local a0 b0 c0
  a0=$(listings "${lister[0]}") b0=$(listings "${lister[1]}") c0=$(servers_cpu "${!pid[@]}")
  timed "$1" migrator sync --config "$2" --progress off --log-format json
  lists=$(($(listings "${lister[0]}") - a0 + $(listings "${lister[1]}") - b0))
  scpu=$(echo "$c0 $(servers_cpu "${!pid[@]}")" | awk '{ printf "%.1f", $2 - $1 }')
}

seed_source
copy_destination
start_minio source "$cache/source"
start_minio destination "$cache/destination"
src="http://127.0.0.1:${port[source]}" dst="http://127.0.0.1:${port[destination]}"
proxy source
wsrc="http://$proxy_addr"
proxy destination
wdst="http://$proxy_addr"

# What a page costs the source: the same 20 pages as one listing and as 20 listings.
page_cost() { # benchctl-command: sets pcpu, the source's CPU seconds for the 20 pages
  local c0
  c0=$(servers_cpu source)
  benchctl "$1" "$src" source mobs
  pcpu=$(echo "$c0 $(servers_cpu source)" | awk '{ printf "%.2f", $2 - $1 }')
}
# BENCH_SCALE_DIRECT=off skips the page cost and (a) against MinIO itself: at a million
# objects each of its syncs takes about 11 minutes here.
direct=${BENCH_SCALE_DIRECT:-on}
continued=- fresh=-
if [ "$direct" != off ]; then
  page_cost pages # warms the folders' metadata into the page cache
  page_cost pages
  continued=$pcpu
  page_cost fresh
  fresh=$pcpu
  printf '== 20 listing pages: %s CPU s continued, %s begun afresh\n' "$continued" "$fresh"
fi

# by_ranges loop-row wan-row src dst wan-src wan-dst: for each listing.ranges, a no-op
# sync on loopback and one behind the link, after an unmeasured one; rows in $work/ranges.
by_ranges() {
  local r state cfg
  for r in $ranges_list; do
    state="$work/state-$1-$r" cfg="$work/$1-$r"
    config "$cfg.yaml" "$3" "$4" "$state" "$r"
    config "$cfg-wan.yaml" "$5" "$6" "$state" "$r"
    echo "== no-op sync, listing.ranges $r ($1)"
    timed "$1-warm-$r" migrator sync --config "$cfg.yaml" --progress off --log-format json
    sync_once "$1-$r" "$cfg.yaml"
    echo "$1 $r $wall $lists $rss $scpu" >>"$work/ranges"
    printf '   loopback        %6.2fs  %6d listing requests  RSS %6.1f MiB  servers %6.1f CPU s\n' "$wall" "$lists" "$rss" "$scpu"
    sync_once "$2-$r" "$cfg-wan.yaml"
    echo "$2 $r $wall $lists $rss $scpu" >>"$work/ranges"
    printf '   %3s ms link     %6.2fs  %6d listing requests  RSS %6.1f MiB  servers %6.1f CPU s\n' "$rtt" "$wall" "$lists" "$rss" "$scpu"
  done
}

# (a) a no-op sync, by listing ranges, on loopback and behind the link.
: >"$work/ranges"
[ "$direct" = off ] || by_ranges loopback wan "$src" "$dst" "$wsrc" "$wdst"

# (a') the same syncs, each MinIO's listing answered from memory by tools/listfront. Its
# index is MinIO's own listing, taken once (minutes at a million keys) and kept in the cache.
front() { # name upstream: starts listfront in front of a MinIO
  local out="$work/$1.addr" addr
  listfront -upstream "127.0.0.1:${port[$2]}" -side "$2" -index "$cache/index.$(cat "$cache/source.seeded")" \
    >"$out" 2>"$work/$1.log" &
  pid[$1]=$!
  addr=$(await_addr "${pid[$1]}" "$out" "listfront $1 (see $work/$1.log)")
  port[$1]=${addr##*:}
}
if [ "${BENCH_SCALE_FLEET:-on}" != off ]; then
  echo "== the same, listings answered by tools/listfront"
  front front-source source # builds the index: the destination's listing is the same
  front front-destination destination
  lister=(front-source front-destination)
  fsrc="http://127.0.0.1:${port[front-source]}" fdst="http://127.0.0.1:${port[front-destination]}"
  proxy front-source
  wfsrc="http://$proxy_addr"
  proxy front-destination
  wfdst="http://$proxy_addr"
  by_ranges fleet fleetwan "$fsrc" "$fdst" "$wfsrc" "$wfdst"
fi

# (b) shards at once against one single-stream listing (ranges 1, loopback, from (a)). How
# many requests a pass sends is the migrator's doing, not the store's: where listfront
# runs, the shards list through it (minutes where MinIO itself takes hours here).
bsrc=$src bdst=$dst single_row=loopback
if [ "${lister[0]}" = front-source ]; then
  bsrc=$fsrc bdst=$fdst single_row=fleet
fi
single=$(awk -v row="$single_row" '$1 == row && $2 == 1 { print $4 }' "$work/ranges")
[ -n "$single" ] || [ -z "${shards_list// /}" ] || { config "$work/single.yaml" "$bsrc" "$bdst" "$work/state-single" 1; sync_once single "$work/single.yaml"; single=$lists; }
: >"$work/shards"
for n in $shards_list; do
  state="$work/state-shards-$n"
  config "$work/shards-$n.yaml" "$bsrc" "$bdst" "$state" 8
  echo "== $n shards at once"
  # The first pass splits the bucket (one shard probes it; the others wait); the second,
  # as every scheduled sync after it, splits where the first found the keys.
  for pass in first later; do
    a0=$(listings "${lister[0]}") b0=$(listings "${lister[1]}")
    t0=$EPOCHREALTIME
    pids=()
    for ((i = 0; i < n; i++)); do
      /usr/bin/time -v -o "$work/shard-$n-$i-$pass.time" migrator sync --config "$work/shards-$n.yaml" --shard "$i/$n" \
        --progress off --log-format json >"$work/shard-$n-$i-$pass.out" 2>&1 &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || { echo "a shard failed; see $work/shard-$n-*-$pass.out" >&2; exit 1; }; done
    wall=$(echo "$t0 $EPOCHREALTIME" | awk '{ printf "%.2f", $2 - $1 }')
    lists=$(($(listings "${lister[0]}") - a0 + $(listings "${lister[1]}") - b0))
    rss=$(cat "$work"/shard-"$n"-*-"$pass".time | awk -F': ' '/Maximum resident set size/ { if ($2 > m) m = $2 } END { printf "%.1f", m / 1024 }')
    echo "$n $pass $wall $lists $rss" >>"$work/shards"
    printf '   %-5s pass %8.2fs  %6d listing requests (%.2fx one listing)  largest RSS %6.1f MiB\n' "$pass" "$wall" "$lists" \
      "$(echo "$lists $single" | awk '{ print $1 / $2 }')" "$rss"
  done
done

# (c) notification latency under `serve`: scripts/bench_notify.sh, which writes its own
# section of bench/results.md. It runs on servers of its own: a notification's path does
# not list the bucket, so its size does not change the lag. BENCH_SCALE_NOTIFY=off skips it.
notification_latency() {
  [ "${BENCH_SCALE_NOTIFY:-on}" = off ] && return 0
  echo "== notifications under serve (scripts/bench_notify.sh)"
  cleanup
  pid=() proxies=()
  "$root/scripts/bench_notify.sh"
}

{
  echo "## Ten million objects: listing at scale"
  echo
  echo "$(cat "$cache/source.seeded") recordings of 256 bytes under 19-digit session IDs, in a MinIO seeded once"
  echo "(\`make bench-scale\`); the destination holds the same objects, so each sync has nothing to copy and"
  echo "costs its listings alone. Each measured sync follows one with the same state folder."
  echo
  echo "### A no-op sync by listing ranges"
  echo
  echo "| link | listing.ranges | wall s | listing requests (both sides) | servers' CPU s | peak RSS MiB | speed-up over 1 range | time the link added |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk -v rtt="$rtt" 'BEGIN { name["loopback"] = "loopback"; name["wan"] = rtt " ms added"
           name["fleet"] = "loopback, listed by listfront"; name["fleetwan"] = rtt " ms added, listed by listfront"
           over["wan"] = "loopback"; over["fleetwan"] = "fleet" }
       { if ($2 == 1) base[$1] = $3; at[$1, $2] = $3
         printf "| %s | %d | %.2f | %d | %.1f | %.1f | %.2fx | %s |\n", name[$1], $2, $3, $4, $6, $5, base[$1] / $3,
           ($1 in over ? sprintf("%.2f s", $3 - at[over[$1], $2]) : "") }' "$work/ranges"
  echo
  if [ "$direct" != off ]; then
    echo "What a listing page costs the source MinIO: 20 pages of 1,000 keys took $continued CPU s as one listing"
    echo "(continued by its token) and $fresh CPU s as 20 listings begun afresh (start-after the page before's last"
    echo "key), as the first request of every range and every split probe is."
    echo
  fi
  echo "The servers' CPU is what both MinIO processes (and listfront, where it lists) used during the sync: on a machine where they share the"
  echo "cores with the migrator, a no-op sync can be no faster than that CPU over the cores ($(nproc) here),"
  echo "whatever the link; the last column is what the link added over loopback at the same ranges."
  if grep -q '^fleet' "$work/ranges"; then
    echo
    echo "The rows listed by listfront answer each side's listing from memory (tools/listfront, MinIO's own"
    echo "listing taken once), as a store whose listing is served by a fleet (AWS S3, GCS) does: a page costs"
    echo "the same at any bucket size, and the link is what a single stream waits on."
  fi
  echo
  echo "### Shards at once against one listing"
  echo
  [ "$single_row" = loopback ] || echo "Listed through listfront, which counts the requests."
  echo
  echo "| shards | pass | wall s | listing requests (both sides) | / one single-stream listing ($single) | largest peak RSS MiB |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: |"
  awk -v one="$single" '{ printf "| %d | %s | %.2f | %d | %.2f | %.1f |\n", $1, $2, $3, $4, $4 / one, $5 }' "$work/shards"
  echo
} >"$work/section.md"

splice_results bench-scale "$work/section.md"
cat "$work/section.md"
notification_latency
