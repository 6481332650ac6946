package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/cutover"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/verify"
)

// cutoverCmd is `migrator cutover`: final sync, vars.yaml switched to the destination,
// reinstall, catch-up sync, verify; resumable, with rollback.
type cutoverCmd struct {
	common         common
	reinstall      string
	existingSecret string
	disableMinio   bool
	dryRun         bool
	rollback       bool
	// Old asset URLs, checked after the reinstall (see assetsCheck).
	domainURL          string
	requireAssetsRoute bool
	assetsWait         time.Duration
}

func (c *cutoverCmd) Summary() string {
	return "switch OpenReplay to the destination: final sync, vars.yaml edited, reinstall, catch-up, verify"
}

func (c *cutoverCmd) Flags(fs *flag.FlagSet) {
	c.common.register(fs)
	fs.StringVar(&c.reinstall, "reinstall", "", "`command` that makes OpenReplay read vars.yaml again, run with sh -c, e.g. '"+
		cutover.ReinstallInstalled+"' or '"+cutover.ReinstallGuide+"'")
	fs.StringVar(&c.existingSecret, "existing-secret", "", "set global.s3.existingSecret to this Kubernetes Secret `name` (keys access-key, secret-key) instead of writing the destination key into vars.yaml; global.s3.accessKey and secretKey become empty")
	fs.BoolVar(&c.disableMinio, "disable-minio", false, "also set minio.enabled: false, so OpenReplay's migration job stops running its MinIO bucket script against the destination")
	fs.BoolVar(&c.dryRun, "dry-run", false, "print the plan and the vars.yaml diff; change nothing")
	fs.StringVar(&c.domainURL, "domain-url", "", "OpenReplay's public `URL` (scheme://host[:port]) through which old recordings load assets, checked after the reinstall (default: from vars.yaml's domainName)")
	fs.BoolVar(&c.requireAssetsRoute, "require-assets-route", false, "roll back unless old asset URLs (<domain-url>/sessions-assets/...) answer with their assets after the reinstall")
	fs.DurationVar(&c.assetsWait, "assets-route-wait", time.Minute, "how long old asset URLs may take to answer after the reinstall (the ingress controller reloads its routes after helm returns)")
	fs.BoolVar(&c.rollback, "rollback", false, "undo an unfinished cutover: restore vars.yaml from its backup and run the reinstall command again")
}

func (c *cutoverCmd) Run(ctx context.Context, env *Env) int {
	switch {
	case c.common.varsPath == "":
		return fail(env.Stderr, "cutover", usageError{errors.New("--openreplay-vars PATH is required: it is the vars.yaml cutover switches (installs keep it at " + openreplay.InstalledVarsPath + ")")})
	case c.reinstall == "":
		return fail(env.Stderr, "cutover", usageError{fmt.Errorf("--reinstall 'COMMAND' is required, e.g. '%s' (installs under /var/lib/openreplay), '%s', or your own `helm upgrade ... -f vars.yaml --atomic`",
			cutover.ReinstallInstalled, cutover.ReinstallGuide)})
	case c.dryRun && c.rollback:
		return fail(env.Stderr, "cutover", usageError{errors.New("--dry-run and --rollback do not go together")})
	}
	if err := validDomainURL(c.domainURL); err != nil {
		return fail(env.Stderr, "cutover", usageError{err})
	}
	// Not common.open: a dry run, a rollback and the no-op after success must work with
	// the old MinIO gone; the buckets are probed below only when there is copying to do.
	p, err := c.common.build(env)
	if err != nil {
		return fail(env.Stderr, "cutover", err)
	}
	defer p.close()
	if p.shard.Count > 1 {
		return fail(env.Stderr, "cutover", usageError{errors.New("cutover copies every key: run it without --shard (and without MIGRATOR_SHARDS)")})
	}
	if p.cfg.Destination.SessionToken != "" && c.existingSecret == "" {
		return fail(env.Stderr, "cutover", usageError{errors.New("the destination key is temporary (it has a session token) and would expire inside OpenReplay: give a long-lived key, or --existing-secret NAME")})
	}
	if err := openreplay.CheckDestinationEndpoint(p.cfg.Destination.Endpoint); err != nil && !c.rollback {
		return fail(env.Stderr, "cutover", usageError{err})
	}
	st, err := cutover.LoadState(p.cfg.StateDir)
	if err != nil {
		return fail(env.Stderr, "cutover", usageError{err})
	}
	before, err := c.sourceStorage(st)
	if err != nil {
		return fail(env.Stderr, "cutover", usageError{err})
	}
	co := c.newCutover(p, env, before)
	if c.dryRun {
		return c.plan(env, co, before)
	}
	if err := c.common.serve(ctx, p); err != nil {
		return fail(env.Stderr, "cutover", usageError{err})
	}
	if c.rollback {
		_, err := co.Rollback(ctx, errors.New("asked for with --rollback"))
		return c.finished(env, err)
	}
	if st == nil || st.Step != cutover.Done {
		if err := checkBuckets(ctx, p); err != nil {
			return fail(env.Stderr, "cutover", usageError{err})
		}
	}
	p.metrics.SetPhase("cutover")
	defer p.metrics.SetPhase("idle")
	res, err := co.Run(ctx)
	if err != nil {
		return c.finished(env, err)
	}
	printCutoverReport(env.Stdout, res, p.cfg.StateDir, c.domainURL)
	return ExitOK
}

func (c *cutoverCmd) finished(env *Env, err error) int {
	if errors.Is(err, cutover.ErrRolledBack) {
		fmt.Fprintf(env.Stderr, "migrator cutover: %v\nvars.yaml is as it was before the cutover, and OpenReplay was reinstalled with it.\n", err)
		return ExitFailed
	}
	return fail(env.Stderr, "cutover", err)
}

// sourceStorage is global.s3 as it was before the switch: from the backup once there is
// one, from vars.yaml before that.
func (c *cutoverCmd) sourceStorage(st *cutover.State) (*openreplay.Storage, error) {
	if st != nil && st.Backup != "" && st.Step != cutover.RolledBack {
		return openreplay.ReadStorage(st.Backup)
	}
	return openreplay.ReadStorage(c.common.varsPath)
}

// destination is what global.s3 becomes: every bucket key named after the destination
// bucket its source bucket maps to.
func (c *cutoverCmd) destination(cfg *config.Config, before *openreplay.Storage, w io.Writer) openreplay.Destination {
	d := openreplay.Destination{
		Endpoint:       cfg.Destination.Endpoint,
		Region:         cfg.Destination.Region,
		ExistingSecret: c.existingSecret,
		Buckets:        map[string]string{},
		DisableMinio:   c.disableMinio,
	}
	if c.existingSecret == "" {
		d.AccessKey, d.SecretKey = cfg.Destination.AccessKey.Value(), cfg.Destination.SecretKey.Value()
	}
	for _, b := range before.Buckets {
		if to := cfg.Buckets[b.Name]; to != "" {
			d.Buckets[b.Key] = to
		} else {
			fmt.Fprintf(w, "cutover: warning: global.s3.%s stays %q (buckets: leaves it behind): after the switch OpenReplay looks for it at the destination\n", b.Key, b.Name)
		}
	}
	return d
}

func (c *cutoverCmd) newCutover(p *parts, env *Env, before *openreplay.Storage) *cutover.Cutover {
	varsPath := c.common.varsPath
	newOrigin, _ := newAssetsOrigin(p.cfg, before.Bucket("assetsBucket")) // "": unknown, nothing counts as redirected
	return &cutover.Cutover{
		StateDir:  p.cfg.StateDir,
		VarsPath:  varsPath,
		Dest:      c.destination(p.cfg, before, env.Stdout),
		Reinstall: c.reinstall,
		Env:       cutover.CleanEnv(os.Environ()),
		Out:       env.Stdout,
		Sync: func(ctx context.Context, phase string) error {
			return syncForCutover(ctx, p, env, phase, &c.common)
		},
		Verify: func(ctx context.Context, switchedAt time.Time) error {
			return verifyForCutover(ctx, p, env, switchedAt)
		},
		KeepSource: func() error { return keepSource(p.cfg, varsPath) },
		ForgetSource: func() error {
			return config.ForgetSource(p.cfg.StateDir)
		},
		CheckAssets: (&assetsCheck{
			viaDomain: assetsViaDomain(before),
			src:       p.src,
			dst:       p.dst,
			bucket:    before.Bucket("assetsBucket"),
			dstBucket: p.cfg.Buckets[before.Bucket("assetsBucket")],
			oldOrigin: oldAssetsOrigin(before, c.domainURL),
			newOrigin: newOrigin,
			require:   c.requireAssetsRoute,
			samples:   5,
			wait:      c.assetsWait,
			out:       env.Stdout,
		}).run,
	}
}

// keepSource saves the source vars.yaml names, before cutover edits it: afterwards
// vars.yaml (and OpenReplay's Secret) hold the destination's.
func keepSource(cfg *config.Config, varsPath string) error {
	if saved, err := config.LoadSavedSource(cfg.StateDir); err != nil || saved != nil {
		return err // already kept, and it is what this run's source came from
	}
	st, err := openreplay.ReadStorage(varsPath)
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(varsPath)
	s := &config.SavedSource{VarsPath: abs, Endpoint: st.Endpoint, Region: st.Region, SavedAt: time.Now().UTC()}
	// Only keys vars.yaml supplied: keys given in the environment or in key files are
	// still given there later, and are no business of this file.
	if st.AccessKey != "" && cfg.Source.AccessKey.Value() == st.AccessKey && cfg.Source.SecretKey.Value() == st.SecretKey {
		s.AccessKey, s.SecretKey = config.Secret(st.AccessKey), config.Secret(st.SecretKey)
	}
	for _, b := range st.Buckets {
		s.Buckets = append(s.Buckets, config.SavedBucket{Key: b.Key, Name: b.Name})
	}
	return config.SaveSource(cfg.StateDir, s)
}

func syncForCutover(ctx context.Context, p *parts, env *Env, phase string, c *common) error {
	start := time.Now()
	results, err := p.runPass(ctx, "sync")
	p.metrics.SetPhase("cutover")
	printCopyReport(env, results, time.Since(start), c)
	if err != nil {
		return err
	}
	var failed, conflicts int
	for _, r := range results {
		if r.Interrupted {
			return fmt.Errorf("%s interrupted: %w", phase, context.Cause(ctx))
		}
		failed += len(r.Failed)
		conflicts += len(r.Conflicts)
	}
	switch {
	case failed > 0:
		return fmt.Errorf("%d objects could not be copied (listed above)", failed)
	case conflicts > 0 && phase == "final sync":
		return fmt.Errorf("%d conflicts: the destination holds newer, different objects under those keys (listed above); resolve them before switching", conflicts)
	case conflicts > 0:
		fmt.Fprintf(env.Stdout, "cutover: %d keys were rewritten at the destination by OpenReplay since the switch; kept\n", conflicts)
	}
	return nil
}

// verifyForCutover proves every source object is at the destination. Objects only the
// destination has (written by OpenReplay since the switch, or preflight's probe) are no
// difference, nor are ones OpenReplay rewrote there after the switch.
func verifyForCutover(ctx context.Context, p *parts, env *Env, switchedAt time.Time) error {
	v := &verify.Verifier{Src: p.src, Dst: p.dst, Checkpoints: p.state, Shard: p.shard}
	var problems []string
	for _, pr := range p.pairs {
		rep, err := v.Pair(ctx, pr, nil)
		if err != nil {
			return err
		}
		newer := 0
		for _, d := range rep.Differences {
			switch d.Kind {
			case verify.Extra:
				newer++
				continue
			case verify.Different:
				if m, err := p.dst.Stat(ctx, pr.Dest, d.Key); err == nil && m.LastModified.After(switchedAt) {
					newer++
					continue
				}
			}
			problems = append(problems, fmt.Sprintf("%s %s/%s: %s", d.Kind, pr.Dest, d.Key, d.Detail))
		}
		fmt.Fprintf(env.Stdout, "%s -> %s: %d objects, %s compared; %d written at the destination since the switch\n",
			pr.Source, pr.Dest, rep.Objects, human(rep.Bytes), newer)
	}
	if len(problems) > 0 {
		n := len(problems)
		if n > 20 {
			problems = append(problems[:20], fmt.Sprintf("... and %d more", n-20))
		}
		return fmt.Errorf("%d objects differ:\n  %s", n, strings.Join(problems, "\n  "))
	}
	return nil
}

func (c *cutoverCmd) plan(env *Env, co *cutover.Cutover, before *openreplay.Storage) int {
	pl, err := co.Plan()
	if err != nil {
		return fail(env.Stderr, "cutover", usageError{err})
	}
	w := env.Stdout
	fmt.Fprintln(w, "cutover --dry-run: nothing is changed, nothing is run")
	switch {
	case pl.State == nil:
		fmt.Fprintln(w, "state: no cutover has started")
	case pl.State.Step == cutover.Done:
		fmt.Fprintf(w, "state: the cutover is done (%s); a run would do nothing\n", pl.State.Finished.Format(time.RFC3339))
		return ExitOK
	case pl.State.Step == cutover.RolledBack:
		fmt.Fprintf(w, "state: the last cutover was rolled back (%s); a run starts a new one\n", pl.State.Reason)
	default:
		fmt.Fprintf(w, "state: a cutover stopped after step %q; a run resumes it\n", pl.State.Step)
	}
	fmt.Fprintln(w, "plan:")
	for i, s := range pl.Steps {
		fmt.Fprintf(w, "  %d. %s\n", i+1, s)
	}
	if assetsViaDomain(before) && len(pl.Steps) > 0 {
		then := "a failure is a warning (--require-assets-route makes it a rollback)"
		if c.requireAssetsRoute {
			then = "a failure rolls back (--require-assets-route)"
		}
		fmt.Fprintf(w, "  after the reinstall: request old asset URLs under %s/ and check each answers with its asset; %s\n",
			oldAssetsOrigin(before, c.domainURL), then)
	}
	if pl.Diff != "" {
		fmt.Fprintf(w, "vars.yaml %s after the edit (keys redacted):\n%s", co.VarsPath, pl.Diff)
	}
	if pl.After != nil {
		for _, n := range cutover.MinioNotes(pl.After) {
			fmt.Fprintln(w, n)
		}
	}
	return ExitOK
}

// printCutoverReport says what changed and what the operator must keep in mind about old recordings.
func printCutoverReport(w io.Writer, res *cutover.Result, stateDir, domainURL string) {
	st := res.State
	if res.AlreadyDone {
		fmt.Fprintf(w, "cutover: already done at %s: %s names the destination; nothing to do\n", st.Finished.Format(time.RFC3339), st.VarsPath)
	} else {
		fmt.Fprintf(w, "cutover: done. OpenReplay uses the destination since %s; the catch-up sync and verify passed.\n", st.SwitchedAt.Format(time.RFC3339))
		where := "global.s3"
		if res.Before.Minio.Enabled != res.After.Minio.Enabled {
			where += " and minio.enabled"
		}
		fmt.Fprintf(w, "vars.yaml %s changed in %s (backup: %s; keys redacted):\n%s", st.VarsPath, where, st.Backup, res.Diff)
	}
	if saved := filepath.Join(stateDir, config.SourceCredentialsFile); cutoverFileExists(saved) {
		fmt.Fprintf(w, "The source's settings are kept in %s: later runs with --openreplay-vars read the source from there.\n", saved)
	}
	cutoverAssetsNote(w, res.Before, res.After, domainURL)
	for _, n := range cutover.MinioNotes(res.After) {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintln(w, cutover.RetentionNote)
}

func cutoverFileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// cutoverAssetsNote warns that recordings keep loading assets from the origin of their time.
func cutoverAssetsNote(w io.Writer, before, after *openreplay.Storage, domainURL string) {
	old, cur := oldAssetsOrigin(before, domainURL), after.AssetsOriginBefore()
	fmt.Fprintf(w, "Recordings made before the switch load their assets (styles, fonts, images) from the ASSETS_ORIGIN of their time:\n  %s\n", old)
	if old == cur {
		fmt.Fprintf(w, "global.assetsOrigin is set, so new recordings use it too: point whatever serves it at the new assets bucket, %s/%s\n",
			strings.TrimSuffix(after.Endpoint, "/"), after.Bucket("assetsBucket"))
		return
	}
	fmt.Fprintf(w, "New recordings use:\n  %s\n", cur)
	fmt.Fprintf(w, "Every URL under %s/ must go on to the same path under %s/: `migrator assets-route --format nginx` prints the nginx block, `--format ingress` the NGINX Inc Ingress (the chart renders it with assetsRoute); see docs/assets-route.md\n", old, cur)
}
