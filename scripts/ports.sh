# Sourced by the scripts that start servers. free_port prints a loopback port nothing
# listens on, from 20000-32767: below Linux's ephemeral range (32768-60999), where every
# outgoing connection on the machine takes its local port, so a port found free is not
# taken by one before its server binds it (a WAN bench run lost its metrics port so), and
# above the tests' 10000-19999 (internal/testenv/ports.go).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12768))
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
