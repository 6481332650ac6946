// Command wanproxy puts a wide-area link in front of a server for `make bench`: a
// toxiproxy proxy that adds round-trip latency and caps each connection's bandwidth, as a
// cloud region tens of milliseconds away would. It runs until killed.
//
//	wanproxy -listen 127.0.0.1:P -upstream 127.0.0.1:Q -rtt 80ms -kbps 2048
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "`address` to listen on")
	upstream := flag.String("upstream", "", "`address` of the server behind the link")
	rtt := flag.Duration("rtt", 40*time.Millisecond, "round trip added (half each way)")
	kbps := flag.Int64("kbps", 0, "per-connection cap in KiB/s, each direction (0: none)")
	flag.Parse()
	if *upstream == "" {
		fmt.Fprintln(os.Stderr, "wanproxy: -upstream is required")
		os.Exit(2)
	}
	zerolog.SetGlobalLevel(zerolog.Disabled)
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "wan", *listen, *upstream)
	if err := srv.Collection.Add(p, true); err != nil {
		fmt.Fprintln(os.Stderr, "wanproxy:", err)
		os.Exit(1)
	}
	half := rtt.Milliseconds() / 2
	for _, dir := range []string{"upstream", "downstream"} {
		if half > 0 {
			add(p, "latency-"+dir, "latency", dir, map[string]any{"latency": half})
		}
		if *kbps > 0 {
			add(p, "bandwidth-"+dir, "bandwidth", dir, map[string]any{"rate": *kbps})
		}
	}
	fmt.Println(p.Listen) // the address, for the script that started it
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	p.Stop()
}

func add(p *toxiproxy.Proxy, name, kind, dir string, attrs map[string]any) {
	body, _ := json.Marshal(map[string]any{"name": name, "type": kind, "stream": dir, "toxicity": 1, "attributes": attrs})
	if _, err := p.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
		fmt.Fprintln(os.Stderr, "wanproxy:", err)
		os.Exit(1)
	}
}
