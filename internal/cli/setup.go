package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/limit"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/metrics"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/stack"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// common are the flags every data command takes.
type common struct {
	configPath     string
	varsPath       string
	sourceEndpoint string
	metricsAddr    string
	debugAddr      string
	metricsFile    string
	shard          string
	logFormat      string
	// writesState: the command saves checkpoints, so stateDir must be writable before
	// any work starts.
	writesState bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.configPath, "config", "", "configuration `file` (YAML)")
	fs.StringVar(&c.varsPath, "openreplay-vars", "", "read the source endpoint, keys and buckets from OpenReplay's vars.yaml at `path`")
	fs.StringVar(&c.sourceEndpoint, "source-endpoint", "", "override the source endpoint (`URL`), e.g. when vars.yaml names an in-cluster address")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "serve /metrics, /healthz and /readyz on `addr` (e.g. :9090)")
	fs.StringVar(&c.metricsFile, "metrics-file", "", "at exit, write the migrator's metrics to `file` in Prometheus text format (for node_exporter's textfile collector)")
	fs.StringVar(&c.debugAddr, "debug-addr", "", "serve net/http/pprof on `addr` (e.g. 127.0.0.1:6060)")
	choiceVar(fs, &c.logFormat, "log-format", "`format` of log lines: json, console, or auto (console on a terminal)", "auto", "json", "console")
}

// registerShard adds --shard, for the commands that work on a shard of each bucket.
func (c *common) registerShard(fs *flag.FlagSet) {
	fs.StringVar(&c.shard, "shard", "", "work on shard `i/N` of every bucket only (default: $JOB_COMPLETION_INDEX of $MIGRATOR_SHARDS)")
}

// parts is everything a data command works with.
type parts struct {
	cfg     *config.Config
	log     *zap.Logger
	reg     *prometheus.Registry
	metrics *metrics.Metrics
	src     store.Store
	dst     store.Store
	pairs   []copy.Pair
	shard   copy.Shard
	state   checkpoint.Store // checkpoints: stateDir, or stateS3 on the destination
	limits  limits           // caps and the concurrency, shared by both sides
	servers []*http.Server
	// quietProgress: progress bars are drawn, so no progress lines in the log.
	quietProgress bool
	// metricsFile receives the final metrics at close (--metrics-file).
	metricsFile string

	// srcNotifier is the bare source client, for serve's notification stream (the
	// stack's wrappers are for request and answer calls).
	srcNotifier store.Notifier
}

// usageError is bad usage or configuration: exit status 2.
type usageError struct{ error }

// open builds the parts, starts the listeners the flags ask for and checks every
// bucket on both sides, so a command starts work only when all of that holds.
func (c *common) open(ctx context.Context, env *Env) (*parts, error) {
	p, err := c.build(env)
	if err != nil {
		return nil, err
	}
	if err := c.serve(ctx, p); err != nil {
		p.close()
		return nil, usageError{err}
	}
	if err := checkBuckets(ctx, p); err != nil {
		p.close()
		return nil, usageError{err}
	}
	return p, nil
}

func (c *common) build(env *Env) (*parts, error) {
	cfg, err := config.Load(c.configPath, env.Getenv)
	if err != nil {
		return nil, usageError{err}
	}
	if c.varsPath != "" {
		// After a cutover vars.yaml names the destination: the source is then taken
		// from what cutover kept in the state folder (see config.ApplySource).
		if _, err := cfg.ApplySource(c.varsPath); err != nil {
			return nil, usageError{err}
		}
	}
	if c.sourceEndpoint != "" {
		cfg.Source.SetEndpoint(c.sourceEndpoint, "--source-endpoint")
	}
	if err := cfg.Validate(); err != nil {
		if c.configPath == "" {
			err = fmt.Errorf("no configuration file was given (name one with --config FILE; docs/configuration.md lists its settings), and without one:\n%w", err)
		}
		return nil, usageError{err}
	}
	if c.writesState {
		if err := checkStateDir(cfg); err != nil {
			return nil, usageError{err}
		}
	}
	shard, err := c.parseShard(env)
	if err != nil {
		return nil, usageError{err}
	}
	p := &parts{cfg: cfg, shard: shard, reg: prometheus.NewRegistry(), metricsFile: c.metricsFile}
	p.log = newLogger(c.logFormat, env)
	p.metrics = metrics.New(p.reg)
	p.reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	if p.limits, err = newLimits(cfg, metrics.NewConcurrency(p.reg, limit.Reasons), p.metrics, p.log); err != nil {
		return nil, usageError{err}
	}
	var srcClient *s3.Client
	if p.src, srcClient, err = c.store("source", cfg.Source, cfg.InFlightMax(), p.metrics, p.limits, cfg.Retry.Policy()); err != nil {
		return nil, usageError{err}
	}
	p.srcNotifier = srcClient
	var dstClient *s3.Client
	if p.dst, dstClient, err = c.store("destination", cfg.Destination, cfg.InFlightMax(), p.metrics, p.limits, cfg.Retry.Policy()); err != nil {
		return nil, usageError{err}
	}
	p.state = checkpoint.Dir(cfg.StateDir)
	if bucket, prefix, ok := cfg.StateLocation(); ok {
		p.state = checkpoint.S3{Objects: stateObjects{p.dst, dstClient, cfg.Retry.Policy()}, Bucket: bucket, Prefix: prefix}
	}
	for _, pr := range cfg.Pairs() {
		p.pairs = append(p.pairs, copy.Pair{Source: pr.Source, Dest: pr.Dest})
	}
	return p, nil
}

// store builds one side (see stack.Open): minio-go, then request metrics, then the caps
// and the concurrency's eyes, then retries (p), so that every attempt is counted and
// paid for. The bare client is returned too, for the calls a Store lacks.
func (c *common) store(side string, e config.Endpoint, workers int, m *metrics.Metrics, l limits, p retry.Policy) (store.Store, *s3.Client, error) {
	o := s3Options(e)
	o.MaxConns = workers
	s, cl, err := stack.Open(side, o, stack.Layers{Metrics: m, Throttle: l.throttle, Observer: l.observer(), Retry: p})
	if err != nil {
		return nil, nil, fmt.Errorf("%s.%w", side, err)
	}
	return s, cl, nil
}

// s3Options is one side's client as the config describes it. Every command builds its
// clients from it, so none drops a setting (preflight once went without stallTimeout).
func s3Options(e config.Endpoint) s3.Options {
	return s3.Options{
		Endpoint:  e.Endpoint,
		Region:    e.Region,
		AccessKey: e.AccessKey.Value(),
		SecretKey: e.SecretKey.Value(),
		CAFile:    e.CAFile,
		// Temporary (STS) keys carry a session token.
		SessionToken: e.SessionToken.Value(),
		StallTimeout: e.StallTimeout,
		// Writes must pass a bucket policy demanding it, preflight's probes too.
		SSE: sseOf(e),
	}
}

// stateObjects is the destination as checkpoint.S3 uses it: the copy's store, with its
// retries and request metrics, and the removal that the copy itself never needs.
type stateObjects struct {
	store.Store
	client *s3.Client
	retry  retry.Policy // the config's, like the store's own calls
}

func (o stateObjects) Remove(ctx context.Context, bucket, key string) error {
	return o.retry.Do(ctx, func(ctx context.Context) error { return o.client.Remove(ctx, bucket, key) })
}

func (c *common) parseShard(env *Env) (copy.Shard, error) {
	s := c.shard
	if s == "" {
		idx, n := env.Getenv("JOB_COMPLETION_INDEX"), env.Getenv("MIGRATOR_SHARDS")
		if idx == "" || n == "" {
			return copy.Shard{}, nil
		}
		s = idx + "/" + n
	}
	return copy.ParseShard(s)
}

// retryPolicy is the per-object policy, counting retries on the destination side where
// a whole object copy is repeated.
func (p *parts) retryPolicy() retry.Policy {
	r := p.cfg.Retry.Policy()
	r.OnRetry = p.metrics.RetryHook("destination")
	return r
}

func (p *parts) close() {
	for _, s := range p.servers {
		s.Close()
	}
	if p.metricsFile != "" {
		if err := prometheus.WriteToTextfile(p.metricsFile, ownMetrics{p.reg}); err != nil {
			p.log.Error("metrics file not written", zap.String("flag", "metrics-file"), zap.Error(err))
		}
	}
	p.log.Sync()
}

// ownMetrics gathers the migrator's own families only: node_exporter, which reads the
// metrics file, refuses a file that repeats its go_ and process_ metrics.
type ownMetrics struct{ g prometheus.Gatherer }

func (o ownMetrics) Gather() ([]*dto.MetricFamily, error) {
	all, err := o.g.Gather()
	own := all[:0]
	for _, f := range all {
		if strings.HasPrefix(f.GetName(), "openreplay_migrator_") {
			own = append(own, f)
		}
	}
	return own, err
}

func newLogger(format string, env *Env) *zap.Logger { return newLoggerTo(format, env, env.Stderr) }

// newLoggerTo logs to w: console lines on a terminal, JSON otherwise. Secrets are never
// fields of a log line; config.Secret prints redacted should one slip into a message.
func newLoggerTo(format string, env *Env, w io.Writer) *zap.Logger {
	console := format == "console" || (format == "auto" && env.Terminal)
	var enc zapcore.Encoder
	if console {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05")
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), zap.InfoLevel))
}

// fail prints err and returns the exit status it deserves.
func fail(w io.Writer, cmd string, err error) int {
	fmt.Fprintf(w, "migrator %s: %v\n", cmd, err)
	var u usageError
	if errors.As(err, &u) {
		return ExitUsage
	}
	return ExitFailed
}

// checkStateDir makes sure checkpoints can be written to stateDir (unless they go to
// stateS3) before any work: a copy that finds out at its first checkpoint has already
// listed, and would then end as a failed run rather than a configuration to fix.
func checkStateDir(cfg *config.Config) error {
	if _, _, ok := cfg.StateLocation(); ok {
		return nil
	}
	// The path is in the message already: say only what the system answered.
	cause := func(err error) error {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("stateDir %s cannot be created (%w): set stateDir in the config to a folder this user may write, or use stateS3", cfg.StateDir, cause(err))
	}
	f, err := os.CreateTemp(cfg.StateDir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("stateDir %s is not writable (%w): set stateDir in the config to a folder this user may write, or use stateS3", cfg.StateDir, cause(err))
	}
	f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("stateDir %s: remove the write test: %w", cfg.StateDir, err)
	}
	return nil
}

// sseOf is the encryption the endpoint asks for on every write (destination.sse).
func sseOf(e config.Endpoint) *s3.SSE {
	if e.SSE == nil {
		return nil
	}
	return &s3.SSE{Type: e.SSE.Type, KMSKeyID: e.SSE.KMSKeyID}
}

// PutIfAbsent lets shards claim key ranges in the state bucket (checkpoint.Claims).
func (o stateObjects) PutIfAbsent(ctx context.Context, bucket, key string, data []byte) error {
	return o.retry.Do(ctx, func(ctx context.Context) error { return o.client.PutIfAbsent(ctx, bucket, key, data) })
}
