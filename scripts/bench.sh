#!/usr/bin/env bash
# `make bench`: the migrator against a bare GET->PUT loop (tools/baseline), in one run on
# this machine, with MinIO servers on loopback and their data on tmpfs.
#
# For each data set (mixed, tiny): the source is seeded once and its data folder kept;
# then the migrator and the baseline each copy it into a fresh destination server, from a
# source server restarted on a fresh copy of that folder (a server that has served copies
# keeps listing caches and a grown heap), in pairs run back to back: B M, M B, B M, ...
# A pair's two copies meet the most alike conditions on a shared machine, so the ratio
# reported is the median of the pairs' ratios (with the mean of all runs beside it). Each copy is timed
# and measured by /usr/bin/time -v (peak RSS, CPU), and the S3 requests are counted by
# both servers (MinIO's v3 metrics); the migrator's own count comes from its /metrics,
# the baseline's from the program. Then: a re-run with nothing to copy against two bare
# listings (interleaved), and a resume after kill -9 at about half way into a versioned
# destination (keys with two versions were copied twice). Last, the merge-join's Go
# benchmark at 10k, 100k and 1M keys.
#
# Per set, after the resume, the baseline is held against itself in BENCH_NOISE_PAIRS more
# pairs: how far apart two runs of one program land on this machine, the yardstick for
# reading the migrator's ratio. Then BENCH_AUTO_PAIRS pairs of the baseline and the
# migrator with no workers set (the concurrency it finds itself), against the same
# baseline: its ratio beside the pinned migrator's.
# A set named NAME-kms (BENCH_SETS="mixed mixed-kms") is NAME's data copied into
# destination servers with a KMS key and buckets with default SSE-KMS encryption (part
# ETags that are no MD5s: every part goes with a CRC32C the destination verifies); with
# both, the report ends with the migrator's rate into SSE-KMS against plain MinIO.
# Knobs (environment): BENCH_SETS="mixed tiny", BENCH_WORKERS=32, BENCH_PAIRS=8,
# BENCH_NOISE_PAIRS=4, BENCH_AUTO_PAIRS=4.
# Writes bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
PATH="$root/.tools/bin:$root/bin:$PATH"
sets=${BENCH_SETS:-mixed tiny}
workers=${BENCH_WORKERS:-32}
# Pairs alternate which tool goes first (... M B, B M), so a drift of the machine's
# speed weighs on both tools alike. The last pair is B M: the re-run with nothing to copy
# starts from the last migrator copy.
pairs_n=${BENCH_PAIRS:-8}
noise_pairs=${BENCH_NOISE_PAIRS:-4}
auto_pairs=${BENCH_AUTO_PAIRS:-4}
order=""
for ((i = pairs_n - 1; i >= 0; i--)); do order+=$([ $((i % 2)) = 0 ] && echo "B M " || echo "M B "); done
order=${order% }
work="$root/.bench"
# Each part is written apart and spliced into bench/results.md, in place of that part's
# last results: the loopback sets, the wide-area link, the merge-join benchmark.
results="$work/part-loopback.md"
. scripts/splice_results.sh
rm -rf "$work"
mkdir -p "$work" "$root/bench"
data=$(mktemp -d /dev/shm/migrator-bench-XXXXXX 2>/dev/null || mktemp -d "$work/data-XXXXXX")

if [ ! -x /usr/bin/time ]; then
  echo "== installing GNU time (for peak RSS)"
  apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi

declare -A pid port tls
scraper=""
cleanup() {
  [ -z "$scraper" ] || kill "$scraper" 2>/dev/null || true
  for n in "${!pid[@]}"; do kill "${pid[$n]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

. "$root/scripts/ports.sh"

# Keys are made fresh and passed through the environment only, never on a command line.
# Every destination server gets the same keys, so one environment serves all the tools.
newsecret() { head -c 18 /dev/urandom | base64 | tr -d '/+='; }
export MIGRATOR_SOURCE_ACCESS_KEY=bench-source MIGRATOR_SOURCE_SECRET_KEY=$(newsecret)
export MIGRATOR_DESTINATION_ACCESS_KEY=bench-destination MIGRATOR_DESTINATION_SECRET_KEY=$(newsecret)

# The KMS key destination servers get while a -kms set runs (name:base64 of 32 bytes),
# in the environment only; "" for plain servers.
kms_key=""
kms_name=bench-key

start_minio() { # name side(source|destination) [from]: a fresh server with empty data, or a copy of folder from
  local name=$1 side=${2^^} from=${3:-} key secret kms=""
  key=MIGRATOR_${side}_ACCESS_KEY secret=MIGRATOR_${side}_SECRET_KEY
  [ "$side" != DESTINATION ] || kms=$kms_key
  local attempt
  # A free port can be taken between free_port and MinIO's bind (by a test of the same
  # machine): MinIO then exits at once, and another pair of ports is tried.
  for attempt in 1 2 3 4 5; do
    rm -rf "${data:?}/$name"
    if [ -n "$from" ]; then cp -a "$from" "$data/$name"; else mkdir -p "$data/$name"; fi
    port[$name]=$(free_port)
    tls[$name]=${certs_dir:+1}
    # The scanner (usage accounting, lifecycle, healing) walks a server's objects about
    # once a minute with the default speed, taking 10-20% of a core in bursts: on a source
    # seeded with 10,000 objects it fell on some copies and not on others, whichever tool
    # ran them. At its slowest speed it waits 30 minutes between cycles.
    # Keys go in the environment (exported in the subshell that becomes MinIO), never
    # on a command line.
    (
      [ -z "$kms" ] || export MINIO_KMS_SECRET_KEY=$kms
      MINIO_ROOT_USER=${!key} MINIO_ROOT_PASSWORD=${!secret} MINIO_BROWSER=off MINIO_UPDATE=off \
        MINIO_PROMETHEUS_AUTH_TYPE=public MINIO_SCANNER_SPEED=slowest MINIO_SCANNER_IDLE_SPEED=off MINIO_SYNC_BOOT=on \
        exec minio server --quiet --address "127.0.0.1:${port[$name]}" --console-address "127.0.0.1:$(free_port)" \
        ${certs_dir:+--certs-dir "$certs_dir"} "$data/$name" \
        >"$work/minio-$name.log" 2>&1
    ) &
    pid[$name]=$!
    for _ in $(seq 1 300); do
      # Only while our server runs: the port may answer for another program's.
      kill -0 "${pid[$name]}" 2>/dev/null || break
      curl -kfs "$(url "$name")/minio/health/ready" >/dev/null 2>&1 && return
      sleep 0.1
    done
    kill "${pid[$name]}" 2>/dev/null || true
    wait "${pid[$name]}" 2>/dev/null || true
    grep -q "already in use" "$work/minio-$name.log" || break
    echo "   MinIO $name: port taken, trying others (attempt $attempt)" >&2
  done
  echo "MinIO $name did not start; see $work/minio-$name.log" >&2
  exit 1
}

stop_minio() { # name
  local name=$1
  [ -n "${pid[$name]:-}" ] || return 0
  kill "${pid[$name]}" 2>/dev/null || true
  wait "${pid[$name]}" 2>/dev/null || true
  unset "pid[$name]"
  rm -rf "${data:?}/$name"
}

# A server started while certs_dir is set serves TLS with the certificate there.
url() { echo "$([ -n "${tls[$1]:-}" ] && echo https || echo http)://127.0.0.1:${port[$1]}"; }

# CPU seconds (user + system) a server has used so far.
cpu_of() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/${pid[$1]}/stat"; }

seed_on() { # server side seed-flags...: tools/seed with that side's keys
  local name=$1 side=${2^^} key secret
  key=MIGRATOR_${side}_ACCESS_KEY secret=MIGRATOR_${side}_SECRET_KEY
  shift 2
  SEED_ACCESS_KEY=${!key} SEED_SECRET_KEY=${!secret} seed --endpoint "$(url "$name")" "$@"
}

# S3 requests a server has answered so far, by API name (MinIO's v3 metrics are live;
# v2's are cached for seconds).
reqsnap() { # name > file
  curl -kfs "$(url "$1")/minio/metrics/v3/api/requests" |
    awk '/^minio_api_requests_total\{/ && /type="s3"/ { match($0, /name="[^"]*"/); print substr($0, RSTART+6, RLENGTH-7), $NF }'
}

# reqdelta before after: requests between two snapshots as "list get put head other".
# put counts PutObject and PutObjectPart; other is multipart create/complete, tagging,
# bucket calls.
reqdelta() {
  awk 'FILENAME == ARGV[1] { b[$1]=$2; next } { d=$2-b[$1]
    if ($1 ~ /^List/) l+=d; else if ($1=="GetObject") g+=d; else if ($1=="PutObject" || $1=="PutObjectPart") p+=d
    else if ($1=="HeadObject") h+=d; else o+=d }
    END { printf "%d %d %d %d %d\n", l, g, p, h, o }' "$1" "$2"
}

sum5() { # "a b c d e" "f g h i j" -> element-wise sum
  local -a x=($1) y=($2)
  echo "$((x[0] + y[0])) $((x[1] + y[1])) $((x[2] + y[2])) $((x[3] + y[3])) $((x[4] + y[4]))"
}

. scripts/timed.sh

# The migrator's own request count, from the last scrape of its /metrics before it exited
# (every 2 s, to cost the measured copy little; the servers' counts are the exact ones).
scrape_start() { # port file [interval]
  (while :; do curl -fs "http://127.0.0.1:$1/metrics" >"$2.tmp" 2>/dev/null && mv "$2.tmp" "$2"; sleep "${3:-2}"; done) &
  scraper=$!
}
scrape_stop() {
  kill "$scraper" 2>/dev/null || true
  wait "$scraper" 2>/dev/null || true
  scraper=""
}
self_requests() { # metrics file -> total requests the migrator counted
  awk '/^openreplay_migrator_requests_total\{/ { n += $NF } END { printf "%d", n }' "$1" 2>/dev/null || echo 0
}

# make_dest_buckets server pairs: the destination buckets, with default SSE-KMS in a -kms set.
make_dest_buckets() {
  seed_on "$1" destination --set none --buckets "$(dest_buckets "$2")" >/dev/null
  local buckets
  buckets=$(dest_buckets "$2")
  [ -z "$kms_key" ] || benchctl sse-kms "$(url "$1")" destination ${buckets//,/ } >/dev/null
}

pairs_for() { # set -> "src:dst,..."
  case ${1%-kms} in
  mixed) echo "mobs:bench-recordings,sessions-assets:bench-assets,sourcemaps:bench-sourcemaps" ;;
  tiny) echo "sessions-assets:bench-assets" ;;
  esac
}

write_config() { # file dest-server state-dir pairs [auto]: with auto, no workers line
  local pairs=$4 yaml="" p
  for p in ${pairs//,/ }; do yaml+="${p%%:*}: ${p#*:}, "; done
  cat >"$1" <<YAML
source:      {endpoint: $(url source), region: us-east-1}
destination: {endpoint: $(url "$2"), region: us-east-1}
buckets:     {${yaml%, }}
$([ "${5:-}" = auto ] || echo "workers: $workers")
stateDir: $3
allowInsecure: true
YAML
}

dest_buckets() { # pairs -> destination bucket names, comma separated
  local out="" p
  for p in ${1//,/ }; do out+="${p#*:},"; done
  echo "${out%,}"
}

echo "== building bin/migrator, bin/seed, bin/baseline, bin/benchctl"
go build -trimpath -o bin/migrator ./cmd/migrator
go build -o bin/seed ./tools/seed
go build -o bin/baseline ./tools/baseline
go build -o bin/benchctl ./tools/benchctl
[ -x "$root/.tools/bin/minio" ] || { echo "MinIO is missing: run make tools" >&2; exit 1; }

{
  echo "# Benchmark results"
  echo
  knobs=$(env | grep -E '^BENCH_(SETS|PAIRS|NOISE_PAIRS|AUTO_PAIRS|WAN)=' | sort | sed 's/=\(.*\)/="\1"/' | tr '\n' ' ')
  echo "Generated by \`${knobs}make bench\` (scripts/bench.sh) on $(date -u +%Y-%m-%d), $(nproc) cores, $(go version | awk '{print $3}'),"
  echo "MinIO servers on loopback with data on tmpfs (scanner at its slowest speed); $workers workers for both tools."
  echo "Every copy starts into a fresh destination server, from a source server started on a fresh copy of the seeded data;"
  echo "the runs go in pairs, $order (B baseline, M migrator), and the ratio is the median of the pairs' ratios."
  echo "Requests are counted by the servers (MinIO's v3 metrics); the migrator's own count is the last scrape"
  echo "of its /metrics (every 2 s), so it trails the servers' by what the last seconds sent."
  echo
} >"$results"

run_copy() { # set tool round pairs [file] -> one result line in file ($work/copies-$set)
  local set=$1 tool=$2 round=$3 pairs=$4 out=${5:-$work/copies-$1} tag="$1-$2-$3" dst="dst-$2" state objs self c0 srvcpu limit=$workers
  # Only the servers this copy uses run while it runs; the source as it was seeded.
  stop_minio dst-migrator
  stop_minio dst-migrator-auto
  stop_minio dst-baseline
  stop_minio source
  start_minio source source "$data/seeded"
  start_minio "$dst" destination
  make_dest_buckets "$dst" "$pairs"
  reqsnap source >"$work/$tag.src0"
  reqsnap "$dst" >"$work/$tag.dst0"
  c0=$(echo "$(cpu_of source) $(cpu_of "$dst")" | awk '{ print $1 + $2 }')
  if [ "$tool" = migrator ] || [ "$tool" = migrator-auto ]; then
    state="$work/state-$tag"
    write_config "$work/$tag.yaml" "$dst" "$state" "$pairs" "${tool#migrator-}"
    local mport
    mport=$(free_port)
    scrape_start "$mport" "$work/$tag.metrics"
    timed "$tag" migrator copy --config "$work/$tag.yaml" --progress off --log-format json --metrics-addr "127.0.0.1:$mport"
    scrape_stop
    objs=$(awk '/^total:/ { print $2 }' "$work/$tag.out")
    self=$(self_requests "$work/$tag.metrics")
    limit=$(awk '/^openreplay_migrator_concurrency_limit / { print $NF }' "$work/$tag.metrics" 2>/dev/null)
    [ "$tool" = migrator-auto ] || echo "$state" >"$work/last-migrator-state"
  else
    timed "$tag" baseline --source "$(url source)" --destination "$(url "$dst")" --buckets "$pairs" --workers "$workers"
    objs=$(sed -E 's/.*"objects":([0-9]+).*/\1/' "$work/$tag.out")
    self=$(sed -E 's/.*"list":([0-9]+),"get":([0-9]+),"put":([0-9]+),"head":([0-9]+),"other":([0-9]+).*/\1 \2 \3 \4 \5/' "$work/$tag.out" | awk '{ print $1+$2+$3+$4+$5 }')
  fi
  srvcpu=$(echo "$c0 $(cpu_of source) $(cpu_of "$dst")" | awk '{ printf "%.2f", $2 + $3 - $1 }')
  reqsnap source >"$work/$tag.src1"
  reqsnap "$dst" >"$work/$tag.dst1"
  if [ "$objs" != "$src_objects" ]; then
    echo "$tool copied $objs objects of $src_objects; see $work/$tag.out" >&2
    exit 1
  fi
  # tool round objects bytes wall rss cpu list get put head other self server-cpu in-flight
  echo "$tool $round $objs $src_bytes $wall $rss $cpu $(sum5 "$(reqdelta "$work/$tag.src0" "$work/$tag.src1")" "$(reqdelta "$work/$tag.dst0" "$work/$tag.dst1")") $self $srvcpu ${limit:-?}" >>"$out"
  printf '   %-13s round %d: %6d objects in %7.2fs  %7.1f objects/s  peak RSS %6.1f MiB  CPU %6.2fs + servers %6.2fs\n' "$tool" "$round" "$objs" "$wall" \
    "$(echo "$objs $wall" | awk '{ print $1 / $2 }')" "$rss" "$cpu" "$srvcpu"
}

nothing_to_copy() { # set pairs: the last migrator copy's destination, run again
  local set=$1 pairs=$2 i tag s0 s1 d0 d1 req
  echo "== $set: a re-run with nothing to copy, against two bare listings (interleaved x3)"
  write_config "$work/$set-rerun.yaml" dst-migrator "$(cat "$work/last-migrator-state")" "$pairs"
  : >"$work/rerun-$set"
  for i in 1 2 3; do
    tag="$set-list-$i"
    timed "$tag" baseline --source "$(url source)" --destination "$(url dst-migrator)" --buckets "$pairs" --list-only
    echo "list $i $wall $rss $cpu 0 0 0 0 0" >>"$work/rerun-$set"
    tag="$set-rerun-$i"
    reqsnap source >"$work/$tag.src0"
    reqsnap dst-migrator >"$work/$tag.dst0"
    timed "$tag" migrator sync --config "$work/$set-rerun.yaml" --progress off --log-format json
    reqsnap source >"$work/$tag.src1"
    reqsnap dst-migrator >"$work/$tag.dst1"
    req=$(sum5 "$(reqdelta "$work/$tag.src0" "$work/$tag.src1")" "$(reqdelta "$work/$tag.dst0" "$work/$tag.dst1")")
    grep -q '^total: 0 objects' "$work/$tag.out" || { echo "re-run copied something:" >&2; cat "$work/$tag.out" >&2; exit 1; }
    echo "rerun $i $wall $rss $cpu $req" >>"$work/rerun-$set"
  done
}

resume() { # set pairs: kill -9 at about half way, restart, count keys written twice
  local set=$1 pairs=$2 total n state tag="$1-resume" mpid b
  echo "== $set: resume after kill -9 at ~50% (versioned destination)"
  stop_minio dst-resume
  start_minio dst-resume destination
  make_dest_buckets dst-resume "$pairs"
  local dbs=() srcs=()
  for b in ${pairs//,/ }; do srcs+=("${b%%:*}"); dbs+=("${b#*:}"); done
  benchctl versioning "$(url dst-resume)" destination "${dbs[@]}"
  total=$(benchctl count "$(url source)" source "${srcs[@]}")
  state="$work/state-$tag"
  write_config "$work/$tag.yaml" dst-resume "$state" "$pairs"
  local mport
  mport=$(free_port)
  migrator copy --config "$work/$tag.yaml" --progress off --log-format json --metrics-addr "127.0.0.1:$mport" \
    >"$work/$tag-1.out" 2>"$work/$tag-1.err" &
  mpid=$!
  # Progress from the migrator's own count of finished objects: listing the destination
  # for it would lag behind a fast copy.
  n=0
  while kill -0 "$mpid" 2>/dev/null; do
    n=$(curl -fs "http://127.0.0.1:$mport/metrics" 2>/dev/null |
      awk '/^openreplay_migrator_objects_total\{/ && /result="copied"/ { n += $NF } END { printf "%d", n }') || n=0
    [ "${n:-0}" -lt $((total / 2)) ] || break
    sleep 0.05
  done
  kill -9 "$mpid" 2>/dev/null || true
  wait "$mpid" 2>/dev/null || true
  local at
  at=$(benchctl count "$(url dst-resume)" destination "${dbs[@]}")
  timed "$tag-2" migrator copy --config "$work/$tag.yaml" --progress off --log-format json
  local again twice final skipped
  again=$(awk '/^total:/ { print $2 }' "$work/$tag-2.out")
  skipped=$(grep -oE '[0-9]+ already there' "$work/$tag-2.out" | awk '{ s += $1 } END { print s + 0 }')
  twice=$(benchctl versions "$(url dst-resume)" destination "${dbs[@]}" 2>"$work/$tag.twice")
  final=$(benchctl count "$(url dst-resume)" destination "${dbs[@]}")
  echo "$total $n $at $again $twice $final $wall $skipped" >"$work/resume-$set"
  stop_minio dst-resume
  echo "   killed at $at of $total objects; the restart copied $again; copied twice: $twice; in place: $final"
}

# awk functions both reports use: sort pairs' ratios a[1..n], then their median and their list.
ratios_awk='
function sort_ratios(a, n,   i, j, x) { for (i=1; i<=n; i++) for (j=i+1; j<=n; j++) if (a[j] < a[i]) { x=a[i]; a[i]=a[j]; a[j]=x } }
function median(a, n) { return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
function listed(a, n,   i, s) { s = ""; for (i=1; i<=n; i++) s = s sprintf("%s%.3f", (i>1 ? ", " : ""), a[i]); return s }
'

report_set() { # set
  local set=$1
  awk -v set="$set" "$ratios_awk"'
    { tool=$1; objs=$3; mib=$4/1048576; wall=$5; rss=$6; cpu=$7; req=$8+$9+$10+$11+$12; srv=$14
      rows = rows sprintf("| %s | %d | %d | %.0f | %.2f | %.0f | %.1f | %.1f | %.2f | %.2f | %.2f (%d/%d/%d/%d/%d) | %d |\n",
        tool, $2, objs, mib, wall, objs/wall, mib/wall, rss, cpu, srv, req/objs, $8, $9, $10, $11, $12, $13)
      n[tool]++; ops[tool]+=objs/wall; mbs[tool]+=mib/wall; peak[tool]=(rss>peak[tool]?rss:peak[tool]); rpo[tool]+=req/objs
      tcpu[tool]+=(cpu+srv)/objs*1000
      # adjacent runs (1-2, 3-4, ...) met the most alike conditions: a ratio per pair
      if (NR % 2 == 1) { prev=tool; prevops=objs/wall } else { pr[++np] = (tool=="migrator" ? (objs/wall)/prevops : prevops/(objs/wall)) } }
    END {
      printf "## Copy: %s set\n\n", set
      print "| tool | round | objects | MiB | wall s | objects/s | MiB/s | peak RSS MiB | tool CPU s | servers CPU s | requests/object as the servers counted them (list/get/put/head/other) | requests the tool counted |"
      print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
      printf "%s\n", rows
      m = "migrator"; b = "baseline"
      sort_ratios(pr, np)
      printf "The %d pairs'"'"' ratios of objects/s (migrator/baseline), sorted: %s. **Median %.3f**.\n\n", np, listed(pr, np), median(pr, np)
      printf "| mean of %d runs each | migrator | baseline | migrator/baseline |\n| --- | --- | --- | --- |\n", n[m]
      printf "| objects/s | %.1f | %.1f | %.3f |\n", ops[m]/n[m], ops[b]/n[b], (ops[m]/n[m])/(ops[b]/n[b])
      printf "| MiB/s | %.1f | %.1f | %.3f |\n", mbs[m]/n[m], mbs[b]/n[b], (mbs[m]/n[m])/(mbs[b]/n[b])
      printf "| CPU ms per object, tool + both servers | %.2f | %.2f | %.3f |\n", tcpu[m]/n[m], tcpu[b]/n[b], (tcpu[m]/n[m])/(tcpu[b]/n[b])
      printf "| peak RSS MiB (largest) | %.1f | %.1f | %.2f |\n", peak[m], peak[b], peak[m]/peak[b]
      printf "| requests/object | %.2f | %.2f | %.2f |\n\n", rpo[m]/n[m], rpo[b]/n[b], (rpo[m]/n[m])/(rpo[b]/n[b])
    }' "$work/copies-$set" >>"$results"
  awk -v set="$set" '
    { rows = rows sprintf("| %s | %d | %.3f | %.1f | %.2f | %d/%d/%d/%d/%d |\n", ($1=="list" ? "two bare listings (baseline --list-only)" : "migrator sync"), $2, $3, $4, $5, $6, $7, $8, $9, $10)
      w[$1, $2]=$3; if ($1=="rerun") { g+=$7; p+=$8; h+=$9 } }
    END {
      printf "## Re-run with nothing to copy: %s set\n\n", set
      print "| run | # | wall s | peak RSS MiB | CPU s | requests the servers counted (list/get/put/head/other) |"
      print "| --- | --- | --- | --- | --- | --- |"
      printf "%s\n", rows
      for (k=1; k<=3; k++) { l[k]=w["list",k]; r[k]=w["rerun",k] }
      ml=med(l[1],l[2],l[3]); mr=med(r[1],r[2],r[3])
      printf "Median wall time: migrator %.3fs, two bare listings %.3fs: **%.2fx**. GET/PUT/HEAD during the re-runs: **%d/%d/%d**.\n\n", mr, ml, mr/ml, g, p, h
    }
    function med(a, b, c) { return a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b)) }' "$work/rerun-$set" >>"$results"
  awk -v set="$set" -v workers="$workers" '{
      printf "## Resume after kill -9: %s set\n\n", set
      printf "Killed with %d of %d objects in place (the migrator had counted %d copied); the restart resumed from the checkpoint'"'"'s watermark, found %d objects past it already there, and copied %d more in %.2fs; ", $3, $1, $2, $8, $4, $7
      printf "**%d objects copied twice** (keys with more than one version in the versioned destination; the bound is %d workers); %d of %d in place at the end.\n\n", $5, workers, $6, $1
    }' "$work/resume-$set" >>"$results"
}

report_noise() { # set
  [ -s "$work/noise-$1" ] || return 0
  awk "$ratios_awk"'{ ops=$3/$5; if (NR % 2 == 1) prev=ops; else r[++n]=ops/prev }
    END {
      sort_ratios(r, n)
      printf "Noise floor: the baseline against itself in %d more pairs (second run/first run, objects/s), sorted: %s; median %.3f. ", n, listed(r, n), median(r, n)
      print "A ratio of the migrator within that spread of 1 is not told apart from equal speed by this many pairs.\n"
    }' "$work/noise-$1" >>"$results"
}

report_auto() { # set: the migrator with no workers set against the baseline, beside the pinned ratio
  [ -s "$work/auto-$1" ] || return 0
  local pinned
  pinned=$(awk "$ratios_awk"'{ r = $3 / $5; if (NR % 2 == 1) prev = r; else pr[++n] = ($1 == "migrator" ? r / prev : prev / r) }
    END { sort_ratios(pr, n); printf "%.3f", median(pr, n) }' "$work/copies-$1")
  awk -v set="$1" -v pinned="$pinned" -v workers="$workers" "$ratios_awk"'
    { r = $3 / $5; if ($1 == "migrator-auto") { lim = lim (lim == "" ? "" : ", ") $15; rss = ($6 > rss ? $6 : rss) }
      if (NR % 2 == 1) prev = r; else pr[++n] = ($1 == "migrator-auto" ? r / prev : prev / r) }
    END {
      sort_ratios(pr, n)
      printf "## Unpinned on loopback: %s set\n\n", set
      printf "The migrator with no `workers` set against the baseline at %d, in %d more pairs: ratios of objects/s, sorted: %s; **median %.3f**, ", workers, n, listed(pr, n), median(pr, n)
      printf "against the pinned migrator'"'"'s median of %.3f above: **%.3f** of it. In flight at the end of each copy (its last scrape): %s; peak RSS %.1f MiB.\n\n", pinned, median(pr, n) / pinned, lim, rss
    }' "$work/auto-$1" >>"$results"
}

report_kms() { # the migrator's objects/s into SSE-KMS against plain MinIO, for sets that ran both ways
  local set
  for set in $sets; do
    [[ $set == *-kms ]] && [ -s "$work/copies-$set" ] && [ -s "$work/copies-${set%-kms}" ] || continue
    awk -v plain="${set%-kms}" -v kms="$set" "$ratios_awk"'
      $1 == "migrator" { r = $3 / $5; if (FILENAME ~ /-kms$/) k[++nk] = r; else p[++np] = r }
      END {
        sort_ratios(k, nk); sort_ratios(p, np)
        printf "## Into SSE-KMS: %s set\n\nThe migrator'"'"'s objects/s into destination buckets with default SSE-KMS (%s) against plain MinIO (%s), medians of %d and %d copies: %.1f against %.1f, **%.3f**.\n\n", plain, listed(k, nk), listed(p, np), nk, np, median(k, nk), median(p, np), median(k, nk) / median(p, np)
      }' "$work/copies-${set%-kms}" "$work/copies-$set" >>"$results"
  done
}

for set in $sets; do
  pairs=$(pairs_for "$set")
  kms_key=""
  [[ $set != *-kms ]] || kms_key="$kms_name:$(head -c 32 /dev/urandom | base64)"
  echo "== $set: seeding the source"
  stop_minio source
  start_minio source source
  seed_on source source --set "${set%-kms}" | sed 's/^/   /'
  srcs=()
  for b in ${pairs//,/ }; do srcs+=("${b%%:*}"); done
  read -r src_objects src_bytes < <(benchctl size "$(url source)" source "${srcs[@]}")
  # The seeded folder, kept aside: every copy's source server starts on a copy of it.
  kill "${pid[source]}" && wait "${pid[source]}" 2>/dev/null || true
  unset "pid[source]"
  rm -rf "${data:?}/seeded"
  mv "$data/source" "$data/seeded"
  start_minio source source "$data/seeded"
  # One copy by each tool first, not counted: in one run the first copy after seeding
  # was 18% slower than any later one.
  echo "== $set: warm-up copies (not counted)"
  run_copy "$set" baseline 0 "$pairs"
  run_copy "$set" migrator 0 "$pairs"
  : >"$work/copies-$set"
  echo "== $set: copies, migrator (M) and baseline (B) in the order $order"
  round=0
  for t in $order; do
    round=$((round + 1))
    run_copy "$set" "$([ "$t" = M ] && echo migrator || echo baseline)" "$round" "$pairs"
  done
  nothing_to_copy "$set" "$pairs"
  stop_minio dst-migrator
  resume "$set" "$pairs"
  : >"$work/noise-$set"
  echo "== $set: noise floor, the baseline against itself in $noise_pairs pairs"
  for ((i = 1; i <= 2 * noise_pairs; i++)); do run_copy "$set-noise" baseline "$i" "$pairs" "$work/noise-$set"; done
  : >"$work/auto-$set"
  echo "== $set: the migrator with no workers set (A) against the baseline (B) in $auto_pairs pairs"
  for ((i = 1; i <= auto_pairs; i++)); do
    for t in $([ $((i % 2)) = 1 ] && echo "B A" || echo "A B"); do
      run_copy "$set-auto" "$([ "$t" = A ] && echo migrator-auto || echo baseline)" "$i" "$pairs" "$work/auto-$set"
    done
  done
  stop_minio dst-migrator-auto
  stop_minio source
  report_set "$set"
  report_noise "$set"
  report_auto "$set"
done

report_kms
kms_key="" # what follows runs on plain servers
[ -z "${sets// /}" ] || splice_results bench-loopback "$results"
if [ "${BENCH_WAN:-on}" != off ]; then
  results="$work/part-wan.md"
  : >"$results"
  . scripts/bench_wan.sh
  splice_results bench-wan "$results"
fi
results="$work/part-join.md"

echo "== merge-join benchmark (synthetic sorted listings, go test -bench BenchmarkJoin)"
go test -run '^$' -bench '^BenchmarkJoin$' -benchtime 1x -count 1 ./pkg/copy/ | tee "$work/join.txt"
go test -run '^$' -bench '^BenchmarkListPage$' -count 1 ./pkg/s3/ | tee "$work/listpage.txt"
{
  echo "## Listing diff (merge-join) at 10k, 100k and 1M keys"
  echo
  echo '`go test -run '"'^\$'"' -bench '"'^BenchmarkJoin\$'"' -benchtime 1x ./pkg/copy/`: both listings are generated in key order'
  echo "(a third of the keys missing at the destination, a third different), piped through the same prefetch"
  echo "the engine uses; peak-heap-MiB is the largest live heap sampled while the join ran."
  echo
  echo '```'
  grep -E '^(Benchmark|goos|goarch|cpu)' "$work/join.txt"
  echo '```'
  echo
  echo "### Reading a listing page"
  echo
  echo '`go test -run '"'^\$'"' -bench '"'^BenchmarkListPage\$'"' ./pkg/s3/`: one page of 1,000 recordings'"'"' keys as MinIO'
  echo "writes it, read by pkg/s3's scanner and by encoding/xml (what minio-go reads listings with)."
  echo
  echo '```'
  grep -E '^(Benchmark|goos|goarch|cpu)' "$work/listpage.txt"
  echo '```'
} >"$results"
splice_results bench-join "$results"

echo "== results in $root/bench/results.md"
