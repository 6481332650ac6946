package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/assetsroute"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// assetsRouteCmd is `migrator assets-route`: the redirect that keeps old recordings'
// asset URLs (<domain>/sessions-assets/...) working once OpenReplay's reinstall has
// deleted its own route to MinIO.
type assetsRouteCmd struct {
	configPath, varsPath string
	format               string
	origin, path         string
	ingress              assetsroute.IngressOptions
}

func (c *assetsRouteCmd) Summary() string {
	return "print the redirect that keeps old recordings' asset URLs working after the cutover (nginx or Ingress)"
}

func (c *assetsRouteCmd) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.configPath, "config", "", "configuration `file`: the new assets origin is its destination endpoint and the bucket the assets bucket maps to")
	fs.StringVar(&c.varsPath, "openreplay-vars", "", "OpenReplay's vars.yaml at `path`: the old assets bucket (the path old URLs have) and domainName (the Ingress's host)")
	choiceVar(fs, &c.format, "format", "`form` of the route: nginx (a location block for the server of OpenReplay's domain) or ingress (an NGINX Inc minion Ingress, as OpenReplay's own)", "nginx", "ingress")
	fs.StringVar(&c.origin, "origin", "", "the new assets origin `URL` (default: the config's destination endpoint and assets bucket)")
	fs.StringVar(&c.path, "path", "", "the `path` old asset URLs have on the domain (default: / and vars.yaml's assets bucket before the cutover, "+assetsroute.DefaultPath+" without vars.yaml)")
	fs.StringVar(&c.ingress.Host, "host", "", "--format ingress: OpenReplay's `domain` (default: vars.yaml's global.domainName)")
	fs.StringVar(&c.ingress.Namespace, "namespace", assetsroute.Defaults.Namespace, "--format ingress: OpenReplay's `namespace`")
	fs.StringVar(&c.ingress.ClassName, "ingress-class", assetsroute.Defaults.ClassName, "--format ingress: OpenReplay's IngressClass `name`")
	fs.StringVar(&c.ingress.Service, "service", assetsroute.Defaults.Service, "--format ingress: a Service `name` in that namespace for the path's backend (never reached: the redirect answers first)")
	fs.IntVar(&c.ingress.Port, "service-port", assetsroute.Defaults.Port, "--format ingress: that Service's `port`")
}

func (c *assetsRouteCmd) Run(_ context.Context, env *Env) int {
	if c.format != "nginx" && c.format != "ingress" {
		return fail(env.Stderr, "assets-route", usageError{fmt.Errorf("--format %q: want nginx or ingress", c.format)})
	}
	route, host, err := c.route(env)
	if err != nil {
		return fail(env.Stderr, "assets-route", usageError{err})
	}
	if c.format == "nginx" {
		fmt.Fprint(env.Stdout, route.Nginx())
		return ExitOK
	}
	if c.ingress.Host == "" {
		c.ingress.Host = host
	}
	if c.ingress.Host == "" {
		return fail(env.Stderr, "assets-route", usageError{errors.New("--format ingress needs OpenReplay's domain: --host NAME, or --openreplay-vars PATH with global.domainName")})
	}
	yaml, err := route.Ingress(c.ingress)
	if err != nil {
		return fail(env.Stderr, "assets-route", usageError{err})
	}
	fmt.Fprint(env.Stdout, yaml)
	return ExitOK
}

// route works out the old path and the new origin from the flags, the config and
// vars.yaml; it also returns vars.yaml's domainName.
func (c *assetsRouteCmd) route(env *Env) (assetsroute.Route, string, error) {
	cfg, err := config.Load(c.configPath, env.Getenv)
	if err != nil {
		return assetsroute.Route{}, "", err
	}
	oldBucket, domain := strings.TrimPrefix(assetsroute.DefaultPath, "/"), ""
	if c.varsPath != "" {
		before, err := storageBeforeSwitch(cfg, c.varsPath)
		if err != nil {
			return assetsroute.Route{}, "", err
		}
		if before.AssetsOrigin != "" {
			return assetsroute.Route{}, "", fmt.Errorf("%s sets global.assetsOrigin (%s): recordings load assets from there, not from a path of OpenReplay's domain; point what serves it at the new bucket instead",
				c.varsPath, before.AssetsOrigin)
		}
		if b := before.Bucket("assetsBucket"); b != "" {
			oldBucket = b
		}
		domain = before.DomainName
	}
	path := c.path
	if path == "" {
		path = "/" + oldBucket
	}
	origin := c.origin
	if origin == "" {
		if origin, err = newAssetsOrigin(cfg, oldBucket); err != nil {
			return assetsroute.Route{}, "", err
		}
	}
	r, err := assetsroute.New(path, origin)
	return r, domain, err
}

// storageBeforeSwitch is global.s3 as OpenReplay had it before the cutover: vars.yaml,
// with the buckets cutover kept once vars.yaml names the destination.
func storageBeforeSwitch(cfg *config.Config, varsPath string) (*openreplay.Storage, error) {
	st, err := openreplay.ReadStorage(varsPath)
	if err != nil {
		return nil, err
	}
	saved, err := config.LoadSavedSource(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	if saved == nil {
		if cfg.Destination.Endpoint != "" && strings.TrimSuffix(st.Endpoint, "/") == strings.TrimSuffix(cfg.Destination.Endpoint, "/") {
			return nil, fmt.Errorf("%s names the destination already and the state folder %s keeps no source settings: give --path /<old assets bucket>", varsPath, cfg.StateDir)
		}
		return st, nil
	}
	before := *st
	before.Endpoint, before.Buckets = saved.Endpoint, nil
	for _, b := range saved.Buckets {
		before.Buckets = append(before.Buckets, openreplay.Bucket{Key: b.Key, Name: b.Name})
	}
	return &before, nil
}

// newAssetsOrigin is the ASSETS_ORIGIN OpenReplay derives after the switch:
// <endpoint>/<assetsBucket> of the destination.
func newAssetsOrigin(cfg *config.Config, oldBucket string) (string, error) {
	if cfg.Destination.Endpoint == "" {
		return "", errors.New("the new assets origin is unknown: give --origin URL, or --config FILE with destination.endpoint")
	}
	to := cfg.Buckets[oldBucket]
	if to == "" {
		return "", fmt.Errorf("buckets: in the config maps no destination bucket for the assets bucket %q: add it, or give --origin URL", oldBucket)
	}
	return strings.TrimSuffix(cfg.Destination.Endpoint, "/") + "/" + to, nil
}

// oldAssetsOrigin is the ASSETS_ORIGIN recordings made before the switch hold, with
// the public domain given as domainURL (scheme://host[:port]) when it is not "".
//
// Without domainURL it is AssetsOriginBefore's, derived as OpenReplay's chart does
// (Storage.DomainURL: http with ORSecureAccess: false, proxy ports, trailing slashes).
func oldAssetsOrigin(before *openreplay.Storage, domainURL string) string {
	origin := before.AssetsOriginBefore()
	if domainURL == "" || !assetsViaDomain(before) {
		return origin
	}
	return strings.TrimSuffix(domainURL, "/") + "/" + before.Bucket("assetsBucket")
}

// assetsViaDomain tells whether OpenReplay served the old assets under its own domain,
// as its chart does while global.s3.endpoint contains "minio" and no assetsOrigin is set.
func assetsViaDomain(before *openreplay.Storage) bool {
	return before.AssetsOrigin == "" && openreplay.TakenForBundledMinio(before.Endpoint)
}

// assetsCheck is the cutover's look at old asset URLs after the reinstall.
type assetsCheck struct {
	// viaDomain: old URLs go through OpenReplay's domain (global.s3.endpoint contains
	// "minio", no global.assetsOrigin), the route the reinstall deletes.
	viaDomain bool
	src, dst  store.Store
	bucket    string // the source's assets bucket
	dstBucket string // and the destination's
	oldOrigin string
	require   bool
	newOrigin string // where the route sends them
	samples   int
	wait      time.Duration // how long the route may take to answer
	out       io.Writer
}

// inNewBucket: the URL was redirected to the new assets origin.
func (a *assetsCheck) inNewBucket(r assetsroute.Result) bool {
	return a.newOrigin != "" && strings.HasPrefix(r.Final, a.newOrigin+"/")
}

// unsettled counts the URLs that fail or do not yet end in the new bucket.
func (a *assetsCheck) unsettled(rs []assetsroute.Result) int {
	n := 0
	for _, r := range rs {
		if !r.OK || !a.inNewBucket(r) {
			n++
		}
	}
	return n
}

func (a *assetsCheck) run(ctx context.Context, copiedBefore time.Time) error {
	if a.bucket == "" {
		fmt.Fprintln(a.out, "cutover: global.s3 names no assets bucket: no old asset URL to check")
		return nil
	}
	if !a.viaDomain {
		fmt.Fprintf(a.out, "cutover: old recordings load their assets from %s/, not through OpenReplay's domain: the reinstall took no route away, and they load as long as that serves them\n", a.oldOrigin)
		return nil
	}
	// Old assets the final sync copied: written before the cutover started, and at the
	// destination (asked, not assumed: the two clocks may differ).
	samples, err := assetsroute.Samples(ctx, a.src, a.bucket, a.oldOrigin, a.samples, func(o store.Object) bool {
		if !o.LastModified.Before(copiedBefore) || a.dstBucket == "" {
			return false
		}
		m, err := a.dst.Stat(ctx, a.dstBucket, o.Key)
		return err == nil && m.Size == o.Size
	})
	if err != nil {
		return a.verdict(err)
	}
	if len(samples) == 0 {
		fmt.Fprintf(a.out, "cutover: %s holds no assets from before the cutover: no old asset URL to check\n", a.bucket)
		return nil
	}
	client := assetsroute.Client()
	// The reinstall returns before the ingress controller has reloaded its routes, and
	// until then OpenReplay's old route to MinIO may still answer: ask again until every
	// URL ends in the new bucket, or the wait is over.
	deadline := time.Now().Add(a.wait)
	results := assetsroute.Probe(ctx, client, samples)
	for a.unsettled(results) > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
		results = assetsroute.Probe(ctx, client, samples)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	failed, elsewhere := 0, 0
	for _, r := range results {
		verdict := "ok"
		switch {
		case !r.OK:
			verdict = "FAILED: " + r.Problem
			failed++
		case !a.inNewBucket(r):
			verdict = "ok, but served by the domain itself, not from " + a.newOrigin
			elsewhere++
		}
		fmt.Fprintf(a.out, "  %s -> %d %s: %s\n", r.URL, r.Status, r.Final, verdict)
	}
	if failed == 0 {
		fmt.Fprintf(a.out, "cutover: old asset URLs under %s/ answer with the assets (%d of %d)\n", a.oldOrigin, len(samples), len(samples))
		if elsewhere > 0 {
			fmt.Fprintf(a.out, "cutover: warning: %d of them were not redirected to the new bucket: a proxy of yours serves them, or OpenReplay's old route to MinIO was still in place %s after the reinstall; request one again once the ingress controller has reloaded\n", elsewhere, a.wait)
		}
		return nil
	}
	return a.verdict(fmt.Errorf("%d of %d old asset URLs under %s/ do not answer with their asset", failed, len(samples), a.oldOrigin))
}

// verdict fails the cutover with --require-assets-route, else warns and lets it go on.
func (a *assetsCheck) verdict(err error) error {
	hint := "old recordings lose their styles and fonts until a route sends those URLs to the new bucket: `migrator assets-route --format nginx` (or `--format ingress`, or the chart's assetsRoute) prints one"
	if a.require {
		return fmt.Errorf("%w; %s (required by --require-assets-route)", err, hint)
	}
	fmt.Fprintf(a.out, "cutover: warning: %v; %s\n", err, hint)
	return nil
}

// validDomainURL checks --domain-url: the scheme and host recordings' asset URLs have.
func validDomainURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.User != nil {
		return fmt.Errorf("--domain-url %q: want scheme://host[:port] of OpenReplay's domain, e.g. https://openreplay.example.com", s)
	}
	return nil
}
