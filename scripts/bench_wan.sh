# Sourced by scripts/bench.sh: the copy over a wide-area link. The source is a local
# MinIO (the in-cluster store); the destination sits behind tools/wanproxy, which adds a
# round trip and caps each connection's bandwidth, once over plain HTTP and once with the
# destination serving TLS (a self-signed certificate, trusted through caFile). Entries: the
# migrator with no workers set, the migrator pinned at 32, and the bare loop at
# 16/32/64/128/256 workers; over TLS also the migrator with Go on every CPU (its rule of
# half of them weighed where TLS costs CPU), and with GOMAXPROCS=4: what Go's default
# would be on a 4-CPU node. On a 2-core box that oversubscribes the cores, so it shows
# what more threads cost in scheduling, not what more cores would bring.
# Every entry runs BENCH_WAN_ROUNDS times (default 5), the entries in turn, and the tables
# show each entry's median run: on the 2-core box both servers and the proxy share the
# CPUs with the copy, and single runs of the same entry differed by 10-30%. With three
# rounds the best of five bare-loop medians still rode on that noise (the same code gave
# 0.896 and 0.932 at 80 ms); five are about 30 minutes.
# Knobs: BENCH_WAN_RTTS="20 80" (ms), BENCH_WAN_KBPS=2048 (KiB/s per connection),
# BENCH_WAN_SCHEMES="http https", BENCH_WAN_ENTRIES (default: all of the above), BENCH_WAN=off
# to skip.

wan_rtts=${BENCH_WAN_RTTS:-20 80}
wan_kbps=${BENCH_WAN_KBPS:-2048}
wan_schemes=${BENCH_WAN_SCHEMES:-http https}
wan_pairs=mobs:bench-recordings,sessions-assets:bench-assets,sourcemaps:bench-sourcemaps
go build -o bin/wanproxy ./tools/wanproxy

wan_certs=$work/wan-certs
mkdir -p "$wan_certs"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$wan_certs/private.key" -out "$wan_certs/public.crt" >/dev/null 2>&1

wan_proxy_pid=""
wan_stop_proxy() { [ -z "$wan_proxy_pid" ] || { kill "$wan_proxy_pid" 2>/dev/null || true; wait "$wan_proxy_pid" 2>/dev/null || true; }; wan_proxy_pid=""; }

# wan_copy scheme rtt entry: one copy from a fresh source into a fresh destination behind
# the link; appends "scheme rtt entry objects bytes wall rss cpu requests limit" to $work/wan.
wan_copy() {
  local scheme=$1 rtt=$2 entry=$3 tag="wan-$1-$2-$3" dst="dst-wan" addr dest state mport limit reqs objs
  stop_minio "$dst"
  stop_minio source
  start_minio source source "$data/seeded-wan"
  if [ "$scheme" = https ]; then certs_dir=$wan_certs start_minio "$dst" destination; else start_minio "$dst" destination; fi
  SSL_CERT_FILE="$wan_certs/public.crt" seed_on "$dst" destination --set none --buckets "$(dest_buckets "$wan_pairs")" >/dev/null
  wan_stop_proxy
  coproc WANPROXY { exec wanproxy -upstream "127.0.0.1:${port[$dst]}" -rtt "${rtt}ms" -kbps "$wan_kbps"; }
  wan_proxy_pid=$WANPROXY_PID
  read -r addr <&"${WANPROXY[0]}"
  dest="$scheme://$addr"
  reqsnap "$dst" >"$work/$tag.dst0"
  case $entry in
  migrator-*)
    # migrator-all-cpus: Go code on every CPU (GOMAXPROCS=nproc) rather than the
    # migrator's rule of half of them, to weigh that rule where TLS costs CPU;
    # migrator-procs-N: GOMAXPROCS=N.
    local procs=
    case $entry in
    migrator-all-cpus) procs=$(nproc) ;;
    migrator-procs-*) procs=${entry#migrator-procs-} ;;
    esac
    state="$work/state-$tag"
    mport=$(free_port)
    {
      echo "source:      {endpoint: $(url source), region: us-east-1}"
      echo "destination: {endpoint: $dest, region: us-east-1$([ "$scheme" = https ] && echo ", caFile: $wan_certs/public.crt")}"
      echo "buckets:     {mobs: bench-recordings, sessions-assets: bench-assets, sourcemaps: bench-sourcemaps}"
      case $entry in migrator-auto | migrator-all-cpus | migrator-procs-*) ;; *) echo "workers: ${entry#migrator-}" ;; esac
      echo "stateDir: $state"
      echo "allowInsecure: true"
    } >"$work/$tag.yaml"
    scrape_start "$mport" "$work/$tag.metrics" 1
    if [ -n "$procs" ]; then
      GOMAXPROCS=$procs timed "$tag" migrator copy --config "$work/$tag.yaml" --progress off --log-format json --metrics-addr "127.0.0.1:$mport"
    else
      timed "$tag" migrator copy --config "$work/$tag.yaml" --progress off --log-format json --metrics-addr "127.0.0.1:$mport"
    fi
    scrape_stop
    objs=$(awk '/^total:/ { print $2 }' "$work/$tag.out")
    limit=$(awk '/^openreplay_migrator_concurrency_limit / { print $NF }' "$work/$tag.metrics" 2>/dev/null)
    ;;
  baseline-*)
    SSL_CERT_FILE="$wan_certs/public.crt" timed "$tag" baseline --source "$(url source)" --destination "$dest" \
      --buckets "$wan_pairs" --workers "${entry#baseline-}"
    objs=$(sed -E 's/.*"objects":([0-9]+).*/\1/' "$work/$tag.out")
    limit=${entry#baseline-}
    ;;
  esac
  reqsnap "$dst" >"$work/$tag.dst1"
  reqsnap source >"$work/$tag.src1"
  wan_stop_proxy
  if [ "$objs" != "$wan_objects" ]; then
    echo "$entry copied $objs objects of $wan_objects; see $work/$tag.out" >&2
    exit 1
  fi
  # Requests: the destination's count over the copy, plus the source's (a fresh server:
  # its count since start is the copy's, less the readiness probe).
  reqs=$(sum5 "$(reqdelta "$work/$tag.dst0" "$work/$tag.dst1")" "$(reqdelta /dev/null "$work/$tag.src1")" | awk '{ print $1+$2+$3+$4+$5 }')
  echo "$scheme $rtt $entry $objs $wan_bytes $wall $rss $cpu $reqs ${limit:-?}" >>"$work/wan"
  printf '   %-5s %3sms %-17s %6d objects in %7.2fs  %7.1f objects/s  RSS %5.1f MiB  CPU %5.2fs  in flight %s\n' \
    "$scheme" "$rtt" "$entry" "$objs" "$wall" "$(echo "$objs $wall" | awk '{ print $1 / $2 }')" "$rss" "$cpu" "${limit:-?}"
}

wan_load=$(cut -d' ' -f1 /proc/loadavg)
echo "== wan: seeding the source"
stop_minio source
start_minio source source
seed_on source source --set wan | sed 's/^/   /'
read -r wan_objects wan_bytes < <(benchctl size "$(url source)" source mobs sessions-assets sourcemaps)
kill "${pid[source]}" && wait "${pid[source]}" 2>/dev/null || true
unset "pid[source]"
rm -rf "${data:?}/seeded-wan"
mv "$data/source" "$data/seeded-wan"
: >"$work/wan"
for scheme in $wan_schemes; do
  for rtt in $wan_rtts; do
    echo "== wan: $scheme, ${rtt} ms round trip, ${wan_kbps} KiB/s per connection"
    entries="migrator-auto migrator-32 baseline-16 baseline-32 baseline-64 baseline-128 baseline-256"
    [ "$scheme" = http ] || entries+=" migrator-all-cpus migrator-procs-4"
    entries=${BENCH_WAN_ENTRIES:-$entries}
    for ((round = 1; round <= ${BENCH_WAN_ROUNDS:-5}; round++)); do
      for entry in $entries; do
        wan_copy "$scheme" "$rtt" "$entry"
      done
    done
  done
done
stop_minio dst-wan
stop_minio source

{
  echo "## Over a wide-area link"
  echo
  knobs=$(env | grep -E '^BENCH_(SETS|WAN[A-Z_]*)=' | sort | sed 's/=\(.*\)/="\1"/' | tr '\n' ' ')
  echo "Generated by \`${knobs}make bench\` on $(date -u +%Y-%m-%d), $(nproc) cores, load average $wan_load at its start."
  echo
  echo "The destination behind tools/wanproxy (toxiproxy): the round trip added, ${wan_kbps} KiB/s per connection each way;"
  echo "$wan_objects OpenReplay-like objects ($(echo "$wan_bytes" | awk '{ printf "%.1f", $1 / 1048576 }') MiB). Each entry copies once from a fresh source into a fresh"
  echo "destination. Each entry ran ${BENCH_WAN_ROUNDS:-5} times, the entries in turn; each row is the entry's median run (by"
  echo "objects/s), with the rates of all its runs beside it. \"in flight\" is the bare loop's workers, the migrator's pinned"
  echo "number, or the number it settled on (its last scrape). The ratio is the migrator with no workers set against the"
  echo "best bare-loop entry, median runs both."
  echo
  awk '{ key = $1 " " $2; e = key SUBSEP $3; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
         if (!(e in runs)) { ents[key] = ents[key] " " $3 }
         rate = $4 / $6; k = ++runs[e]; rates[e, k] = rate
         line[e, k] = sprintf("| %s | %.1f | %.2f | %.2f | %.1f | %.2f | %s |", $3, rate, $5 / 1048576 / $6, $8, $7, $9 / $4, $10) }
       # med: the index of the median run of e (the lower middle one of an even count).
       function med(e,   i, j, c, below) { for (i = 1; i <= runs[e]; i++) { below = 0
           for (j = 1; j <= runs[e]; j++) if (rates[e, j] < rates[e, i] || (rates[e, j] == rates[e, i] && j < i)) below++
           if (below == int((runs[e] - 1) / 2)) return i } }
       END { for (i = 1; i <= n; i++) { key = order[i]; split(key, a, " "); best = 0; bestn = ""; rows = ""
               m = split(substr(ents[key], 2), list, " ")
               for (x = 1; x <= m; x++) { e = key SUBSEP list[x]; j = med(e); r[list[x]] = rates[e, j]; all = ""
                 for (y = 1; y <= runs[e]; y++) all = all (y > 1 ? ", " : "") sprintf("%.0f", rates[e, y])
                 rows = rows line[e, j] " " all " |\n"
                 if (list[x] ~ /^baseline/ && rates[e, j] > best) { best = rates[e, j]; bestn = list[x] } }
               printf "### %s, %s ms\n\n| entry | objects/s | MiB/s | CPU s | peak RSS MiB | requests/object | in flight | objects/s, every run |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n%s\n", a[1], a[2], rows
               if (best > 0 && ("migrator-auto" in r)) printf "migrator (no workers set) / best bare loop (%s): **%.3f**\n\n", bestn, r["migrator-auto"] / best
               delete r } }' "$work/wan"
} >>"$results"
