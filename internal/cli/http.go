package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/statuspage"
)

// serve starts the metrics and debug listeners the flags ask for. Listening happens
// here, so a taken port is an error before any work starts.
func (c *common) serve(ctx context.Context, p *parts) error {
	if c.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{Registry: p.reg}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) { ready(r.Context(), w, p) })
		mux.Handle("/", statuspage.Handler(p.metrics.Snapshot)) // the status page and /api/status
		if err := p.listen("metrics-addr", c.metricsAddr, mux); err != nil {
			return err
		}
	}
	if c.debugAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		if err := p.listen("debug-addr", c.debugAddr, mux); err != nil {
			return err
		}
	}
	return nil
}

func (p *parts) listen(flagName, addr string, h http.Handler) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--%s %s: %w", flagName, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	p.servers = append(p.servers, srv)
	p.log.Info("listening", zap.String("flag", flagName), zap.String("addr", l.Addr().String()))
	go srv.Serve(l) // closed by parts.close, which every command defers
	return nil
}

// ready answers 200 when both services answer and the checkpoints can be saved.
func ready(ctx context.Context, w http.ResponseWriter, p *parts) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := checkBuckets(ctx, p); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	// A state bucket was probed with the others; a state folder is probed by writing.
	if dir, ok := p.state.(checkpoint.Dir); ok {
		if err := dir.Writable(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ready")
}
