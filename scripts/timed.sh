# Sourced by the bench scripts (they set $work, where each run leaves its files).
# timed tag cmd...: runs cmd under /usr/bin/time -v; sets wall (s), rss (MiB), cpu (s).
timed() {
  local tag=$1 t0 t1
  shift
  t0=$EPOCHREALTIME
  /usr/bin/time -v -o "$work/$tag.time" "$@" >"$work/$tag.out" 2>"$work/$tag.err" || {
    echo "$tag failed:" >&2
    tail -20 "$work/$tag.err" "$work/$tag.out" >&2
    exit 1
  }
  t1=$EPOCHREALTIME
  wall=$(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }')
  rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$work/$tag.time")
  cpu=$(awk -F': ' '/User time/ { u=$2 } /System time/ { s=$2 } END { printf "%.2f", u + s }' "$work/$tag.time")
}
