#!/usr/bin/env bash
# `make bench-notify` (issue 18, 4(c)): how soon an object written to a MinIO source is at
# the destination under `migrator serve` with an hourly schedule, i.e. by bucket
# notifications alone. For each rate in BENCH_NOTIFY_RATES (objects a second, default
# "20 100") a writer adds 2-64 KiB recordings for BENCH_NOTIFY_SECONDS (default 60) and a
# watcher lists the destination every 50 ms: the p50/p90/p99/max from a PUT's answer to
# the first listing that shows the object, and the migrator's peak RSS (VmHWM). The
# measurement is cmd/migrator's TestBenchNotify (real MinIO servers on loopback; the
# source's notification stream through testenv.NotifyingProxy, since the MinIO built here
# does not flush it). Writes the "Notifications" section of bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
PATH="$root/.tools/bin:$PATH"
rates=${BENCH_NOTIFY_RATES:-20 100}
seconds=${BENCH_NOTIFY_SECONDS:-60}
results="$root/bench/results.md"
rows=""
for rate in $rates; do
  echo "== $rate objects/s for ${seconds}s"
  out=$(BENCH_NOTIFY=1 BENCH_NOTIFY_RATE=$rate BENCH_NOTIFY_SECONDS=$seconds \
    go test -count=1 -timeout 20m -run '^TestBenchNotify$' -v ./cmd/migrator 2>&1) || { echo "$out" | tail -40; exit 1; }
  line=$(echo "$out" | grep '^BENCH_NOTIFY ' | tail -1)
  [ -n "$line" ] || { echo "$out" | tail -40; echo "no BENCH_NOTIFY line"; exit 1; }
  echo "$line"
  field() { echo "$line" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
  rows+="| $rate | $(field objects) | $(field p50) | $(field p90) | $(field p99) | $(field max) | $(field floor_p50) / $(field floor_p99) | $(field notified) | $(field syncs) | $(field peak_rss) | $(field load) |"$'\n'
done
section="## Notifications: source PUT to destination under serve (scripts/bench_notify.sh)

\`make bench-notify\` ($(date -u +%Y-%m-%d), $(nproc) cores, shared machine). \`serve\` with an hourly
schedule, so every copy below came from the source's bucket notifications (syncs = 0); lag is from a
PUT's answer to the first 50 ms destination listing that shows the object (so it includes up to 50 ms
of watching). The floor is the same watching of the source itself (PUT to the first source listing
showing it): what the loaded machine costs any watcher. Load is the 1-minute load average at the end
(2 cores: above 2, processes wait for a CPU). Goal (issue 18): p99 <= 5 s.

| objects/s | objects | p50 | p90 | p99 | max | floor p50 / p99 | copied from notifications | syncs | peak RSS | load |
|---|---|---|---|---|---|---|---|---|---|---|
${rows}
Reproduce: \`BENCH_NOTIFY_RATES=\"$rates\" BENCH_NOTIFY_SECONDS=$seconds ./scripts/bench_notify.sh\`"
. scripts/splice_results.sh
part=$(mktemp)
echo "$section" >"$part"
splice_results bench_notify "$part"
rm -f "$part"
echo "== written: $results (Notifications section)"
