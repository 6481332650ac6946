// Package preflight prepares a destination the way OpenReplay's external-storage guide
// asks an operator to by hand, probes what its key may do, and reports what it could not do.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// ProbePrefix is where preflight writes its probe objects in destination buckets. No
// OpenReplay key starts with it, so no copy ever meets it in a source. A key with only
// the guide's permissions has no s3:DeleteObject, so a probe object may stay there.
const ProbePrefix = ".openreplay-migrator/"

const (
	probeKey       = ProbePrefix + "preflight-probe"
	probeUploadKey = ProbePrefix + "preflight-probe-upload"
	probeBody      = "written by `migrator preflight` to test the key's permissions; safe to delete\n"
)

// Admin is what preflight needs of the destination: the object calls of store.Store and
// a few bucket-level ones. *s3.Client implements it.
type Admin interface {
	store.Store
	// MakeBucket creates bucket in region.
	MakeBucket(ctx context.Context, bucket, region string) error
	// BucketCORS returns the bucket's CORS rules; none is not an error.
	BucketCORS(ctx context.Context, bucket string) ([]s3.CORSRule, error)
	// SetBucketCORS replaces the bucket's CORS rules.
	SetBucketCORS(ctx context.Context, bucket string, rules []s3.CORSRule) error
	// BucketPolicy returns the bucket policy (JSON), "" when there is none.
	BucketPolicy(ctx context.Context, bucket string) (string, error)
	// SetBucketPolicy replaces the bucket policy.
	SetBucketPolicy(ctx context.Context, bucket, policy string) error
	// BucketLocation asks the service for the bucket's region.
	BucketLocation(ctx context.Context, bucket string) (string, error)
	// BucketLifecycle returns the bucket's lifecycle rules; none is not an error.
	BucketLifecycle(ctx context.Context, bucket string) ([]s3.LifecycleRule, error)
	// MergeLifecycle adds rules to the bucket's lifecycle, keeping the rules there
	// except those replace returns true for.
	MergeLifecycle(ctx context.Context, bucket string, rules []s3.LifecycleRule, replace func(s3.LifecycleRule) bool) error
	// PutTags replaces an object's tags.
	PutTags(ctx context.Context, bucket, key string, tags map[string]string) error
	// ObjectACL reads an object's ACL.
	ObjectACL(ctx context.Context, bucket, key string) error
	// Remove deletes an object; a missing one is not an error.
	Remove(ctx context.Context, bucket, key string) error
}

var (
	_ Admin  = (*s3.Client)(nil)
	_ Source = (*s3.Client)(nil)
)

// Source is what preflight reads of the source: nothing is ever written there.
type Source interface {
	List(ctx context.Context, bucket, startAfter string) iter.Seq2[store.Object, error]
	BucketLifecycle(ctx context.Context, bucket string) ([]s3.LifecycleRule, error)
}

// Bucket is one configured pair.
type Bucket struct {
	Source, Dest string
	// Assets marks the pair of OpenReplay's assets bucket (global.s3.assetsBucket, by
	// default sessions-assets): the guide makes its destination publicly readable.
	Assets bool
}

// Options say what to check.
type Options struct {
	Endpoint string // the destination's URL
	Region   string // the destination region as configured
	Buckets  []Bucket
	// StateBucket, when stateS3 names one, is the destination bucket that keeps the
	// checkpoints: created like the others, but private and with no CORS.
	StateBucket string
	// DryRun changes nothing: no bucket, CORS rule, policy or probe object is written.
	DryRun bool
	// Retention adds the lifecycle rules that carry OpenReplay's deletions over.
	Retention Retention
}

// SideError stops preflight: a key the service does not accept, or a service that does
// not answer. Every other refusal becomes a row of the report.
type SideError struct {
	Side   string // source or destination
	Bucket string
	Err    error
}

func (e *SideError) Error() string { return e.Side + " bucket " + e.Bucket + ": " + e.Err.Error() }
func (e *SideError) Unwrap() error { return e.Err }

// permission is one action probed with a real call.
type permission struct {
	action string
	// copyNeeds: the copy (or verify) makes this call on the destination.
	copyNeeds bool
	// guide: OpenReplay's external-storage guide grants it, so OpenReplay needs it.
	guide bool
}

// permissions in the guide's order, then the two that are not in the guide.
var permissions = []permission{
	{"s3:PutObject", true, true},
	{"s3:GetObject", true, true},
	{"s3:GetObjectAcl", false, true},
	{"s3:GetObjectTagging", false, true},
	{"s3:PutObjectTagging", true, true},
	{"s3:ListBucket", true, true},
	{"s3:GetBucketLocation", false, true},
	{"s3:DeleteObject", false, false},
	{"s3:AbortMultipartUpload", false, false},
}

// outcome is what one probe call answered on one bucket.
type outcome struct {
	bucket string
	err    error
	// leftover says what the probe could not clean up, if anything.
	leftover string
}

type checker struct {
	dst     Admin
	src     Source
	o       Options
	rep     *Report
	probes  map[string][]outcome
	destLCs map[string][]s3.LifecycleRule // read once per bucket; nil entry when unreadable
}

// Run checks (and, unless o.DryRun, fixes) the destination and reads the source, and
// returns one row per check. The error is non-nil only when a side cannot be talked to
// at all (SideError) or ctx ends.
func Run(ctx context.Context, dst Admin, src Source, o Options) (*Report, error) {
	c := &checker{dst: dst, src: src, o: o, rep: &Report{DryRun: o.DryRun},
		probes: map[string][]outcome{}, destLCs: map[string][]s3.LifecycleRule{}}
	c.endpoint()
	var existing []string
	for _, b := range dedupe(o.Buckets) {
		exists, err := c.bucket(ctx, b)
		if err != nil {
			return c.rep, err
		}
		if !exists {
			continue
		}
		existing = append(existing, b.Dest)
		for _, step := range []func(context.Context, Bucket) error{c.region, c.cors, c.access, c.probe} {
			if err := step(ctx, b); err != nil {
				return c.rep, err
			}
		}
	}
	if o.StateBucket != "" {
		if err := c.stateBucket(ctx, o.StateBucket); err != nil {
			return c.rep, err
		}
	}
	c.permissionRows(ctx)
	if o.Retention.Enabled {
		if err := c.retention(ctx, existing); err != nil {
			return c.rep, err
		}
	}
	for _, b := range o.Buckets {
		if err := c.source(ctx, b); err != nil {
			return c.rep, err
		}
	}
	return c.rep, ctx.Err()
}

// dedupe keeps one entry per destination bucket, assets if any pair says so.
func dedupe(bs []Bucket) []Bucket {
	var out []Bucket
	at := map[string]int{}
	for _, b := range bs {
		if i, ok := at[b.Dest]; ok {
			out[i].Assets = out[i].Assets || b.Assets
			continue
		}
		at[b.Dest] = len(out)
		out = append(out, b)
	}
	return out
}

func (c *checker) add(r Row) { c.rep.Rows = append(c.rep.Rows, r) }

// patience for each call: a busy service's 503 or a dropped connection is not an answer
// about permissions.
var patience = retry.Policy{Attempts: 4, Base: 200 * time.Millisecond, Max: 3 * time.Second}

// call runs fn, again on a passing failure. NotImplemented is an answer (MinIO's bucket
// CORS), not a failure to wait out, even though its status is 5xx.
func call(ctx context.Context, fn func(context.Context) error) error {
	var last error
	err := patience.Do(ctx, func(ctx context.Context) error {
		last = fn(ctx)
		if classify(last) == answerUnsupported {
			return nil
		}
		return last
	})
	if err != nil {
		return err
	}
	return last
}

// listFirst lists the first key of bucket: the cheapest call that proves the bucket is
// there and the key may list it.
func listFirst(ctx context.Context, s interface {
	List(context.Context, string, string) iter.Seq2[store.Object, error]
}, bucket string) error {
	return call(ctx, func(ctx context.Context) error {
		for _, err := range s.List(ctx, bucket, "") {
			return err
		}
		return nil
	})
}

// kinds of answers.
const (
	answerOK = iota
	answerDenied
	answerUnsupported
	answerNoBucket
	answerNotFound
	answerOther
)

func classify(err error) int {
	switch store.ClassOf(err) {
	case store.ClassNone:
		return answerOK
	case store.ClassNotFound:
		return answerNotFound
	case store.ClassDenied, store.ClassCredentials:
		return answerDenied
	case store.ClassUnsupported:
		return answerUnsupported
	case store.ClassNoBucket:
		return answerNoBucket
	}
	return answerOther
}

// fatal picks out errors no row can describe: a key the service rejects, a service
// that does not answer, or the end of ctx.
func fatal(side, bucket string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var se *store.Error
	if !errors.As(err, &se) {
		return nil
	}
	if store.ClassOf(err) == store.ClassCredentials || se.Status == 0 {
		return &SideError{Side: side, Bucket: bucket, Err: err}
	}
	return nil
}

// detail is the service's message alone, for rows whose status already says the code.
func detail(err error) string {
	var se *store.Error
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	return err.Error()
}

// brief is an error for a table cell: the service's code and message, no wrapping.
func brief(err error) string {
	var se *store.Error
	if errors.As(err, &se) {
		if se.Code != "" {
			return se.Code + ": " + se.Err.Error()
		}
		return se.Err.Error()
	}
	return err.Error()
}

func (c *checker) endpoint() {
	u, err := url.Parse(c.o.Endpoint)
	switch {
	case err != nil:
		c.add(Row{Check: "destination endpoint", Status: Missing, Blocking: true,
			Do: fmt.Sprintf("destination.endpoint %q is not a URL", c.o.Endpoint)})
		return
	case u.Scheme != "https":
		c.add(Row{Check: "destination endpoint", Status: Warn,
			Do: "plain http: keys and recordings cross the network unencrypted; use an https endpoint"})
	default:
		c.add(Row{Check: "destination endpoint", Status: OK, Do: "https"})
	}
	if err := openreplay.CheckDestinationEndpoint(c.o.Endpoint); err != nil {
		c.add(Row{Check: "endpoint for OpenReplay", Status: Missing, Blocking: true, Do: err.Error()})
	}
	if isGCS(u.Host) {
		c.add(Row{Check: "object tagging", Status: Warn,
			Do: "Google Cloud Storage keeps no object tags: OpenReplay's retention tags are lost there; expire objects by age with a GCS lifecycle rule instead"})
	}
}

func isGCS(host string) bool {
	return host == "storage.googleapis.com" || strings.HasSuffix(host, ".storage.googleapis.com")
}

// stateBucket makes sure the bucket of stateS3 exists. Nothing of OpenReplay's guide
// applies to it: it stays private, without CORS.
func (c *checker) stateBucket(ctx context.Context, name string) error {
	check := "state bucket " + name
	err := listFirst(ctx, c.dst, name)
	if f := fatal("destination", name, err); f != nil {
		return f
	}
	switch classify(err) {
	case answerOK:
		c.add(Row{Check: check, Status: OK, Do: "exists"})
		return nil
	case answerNoBucket:
	default:
		c.add(Row{Check: check, Status: Unknown, Blocking: true,
			Do: "the key may not list it (s3:ListBucket): grant s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on it; the checkpoints are kept there"})
		return nil
	}
	if c.o.DryRun {
		c.add(Row{Check: check, Status: WouldFix, Do: "would create it (private) in " + c.o.Region})
		return nil
	}
	err = call(ctx, func(ctx context.Context) error { return c.dst.MakeBucket(ctx, name, c.o.Region) })
	if f := fatal("destination", name, err); f != nil {
		return f
	}
	if classify(err) == answerOK {
		c.add(Row{Check: check, Status: Fixed, Do: "created (private) in " + c.o.Region})
		return nil
	}
	c.add(Row{Check: check, Status: Missing, Blocking: true,
		Do: fmt.Sprintf("does not exist and could not be created in %s (%s): create it, or fix stateS3 in the config", c.o.Region, brief(err))})
	return nil
}

// bucket makes sure the destination bucket exists, creating it in the configured region.
func (c *checker) bucket(ctx context.Context, b Bucket) (bool, error) {
	check := "bucket " + b.Dest
	// A listing rather than HEAD: an error answer to HEAD has no body, so a wrong key
	// and a missing permission would look alike.
	err := listFirst(ctx, c.dst, b.Dest)
	if f := fatal("destination", b.Dest, err); f != nil {
		return false, f
	}
	switch classify(err) {
	case answerOK:
		c.add(Row{Check: check, Status: OK, Do: "exists"})
		return true, nil
	case answerNoBucket:
	case answerDenied:
		c.add(Row{Check: check, Status: Unknown, Blocking: true,
			Do: "the key may not list the bucket (s3:ListBucket), so whether it exists is unknown: grant it, then run preflight again"})
		return false, nil
	default:
		c.add(Row{Check: check, Status: Unknown, Blocking: true, Do: brief(err)})
		return false, nil
	}
	if c.o.DryRun {
		c.add(Row{Check: check, Status: WouldFix, Do: "would create it in " + c.o.Region})
		if b.Assets {
			c.add(Row{Check: "public read " + b.Dest, Status: WouldFix, Do: "would allow s3:GetObject to everyone on it"})
		}
		c.add(Row{Check: "CORS " + b.Dest, Status: WouldFix, Do: "would allow GET from any origin, any header"})
		return false, nil
	}
	err = call(ctx, func(ctx context.Context) error { return c.dst.MakeBucket(ctx, b.Dest, c.o.Region) })
	if f := fatal("destination", b.Dest, err); f != nil {
		return false, f
	}
	switch classify(err) {
	case answerOK:
		c.add(Row{Check: check, Status: Fixed, Do: "created in " + c.o.Region})
		return true, nil
	case answerDenied:
		c.add(Row{Check: check, Status: Missing, Blocking: true,
			Do: fmt.Sprintf("does not exist and the key may not create it (s3:CreateBucket): create %s in %s, or fix buckets: in the config", b.Dest, c.o.Region)})
	default:
		c.add(Row{Check: check, Status: Missing, Blocking: true,
			Do: fmt.Sprintf("does not exist and could not be created in %s (%s): create it, or fix buckets: in the config", c.o.Region, brief(err))})
	}
	return false, nil
}

// region compares the bucket's location with the configured region; the call is also
// the s3:GetBucketLocation probe.
func (c *checker) region(ctx context.Context, b Bucket) error {
	check := "region " + b.Dest
	var loc string
	err := call(ctx, func(ctx context.Context) (err error) { loc, err = c.dst.BucketLocation(ctx, b.Dest); return err })
	if f := fatal("destination", b.Dest, err); f != nil {
		return f
	}
	c.probes["s3:GetBucketLocation"] = append(c.probes["s3:GetBucketLocation"], outcome{bucket: b.Dest, err: err})
	switch {
	case err != nil:
		c.add(Row{Check: check, Status: Unknown, Do: "the bucket's location could not be read (" + brief(err) + ")"})
	case loc != c.o.Region:
		c.add(Row{Check: check, Status: Warn,
			Do: fmt.Sprintf("the bucket is in %s, the configuration says %s: set destination.region: %s", loc, c.o.Region, loc)})
	default:
		c.add(Row{Check: check, Status: OK, Do: loc})
	}
	return nil
}

// corsRule is the guide's rule: GET from any origin with any header.
var corsRule = s3.CORSRule{ID: "openreplay", AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, AllowedHeaders: []string{"*"}}

func corsAllowsGet(rules []s3.CORSRule) bool {
	for _, r := range rules {
		if slices.Contains(r.AllowedOrigins, "*") && slices.Contains(r.AllowedHeaders, "*") &&
			slices.ContainsFunc(r.AllowedMethods, func(m string) bool { return strings.EqualFold(m, "GET") }) {
			return true
		}
	}
	return false
}

const corsByHand = "set CORS by hand: AllowedMethods GET, AllowedOrigins *, AllowedHeaders *"

func (c *checker) cors(ctx context.Context, b Bucket) error {
	check := "CORS " + b.Dest
	var rules []s3.CORSRule
	err := call(ctx, func(ctx context.Context) (err error) { rules, err = c.dst.BucketCORS(ctx, b.Dest); return err })
	if f := fatal("destination", b.Dest, err); f != nil {
		return f
	}
	switch classify(err) {
	case answerOK:
	case answerUnsupported:
		c.add(Row{Check: check, Status: NA, Do: "no per-bucket CORS here: " + detail(err)})
		return nil
	case answerDenied:
		// Setting rules without reading them first would throw away whatever is there.
		c.add(Row{Check: check, Status: CannotFix, Do: "the key may not read the bucket's CORS rules (s3:GetBucketCORS); " + corsByHand})
		return nil
	default:
		c.add(Row{Check: check, Status: CannotFix, Do: brief(err) + "; " + corsByHand})
		return nil
	}
	if corsAllowsGet(rules) {
		c.add(Row{Check: check, Status: OK, Do: "GET from any origin allowed"})
		return nil
	}
	if c.o.DryRun {
		c.add(Row{Check: check, Status: WouldFix, Do: "would add a rule: GET from any origin, any header"})
		return nil
	}
	err = call(ctx, func(ctx context.Context) error {
		return c.dst.SetBucketCORS(ctx, b.Dest, append(slices.Clone(rules), corsRule))
	})
	if f := fatal("destination", b.Dest, err); f != nil {
		return f
	}
	switch classify(err) {
	case answerOK:
		c.add(Row{Check: check, Status: Fixed, Do: "added a rule: GET from any origin, any header"})
	case answerUnsupported:
		c.add(Row{Check: check, Status: NA, Do: "no per-bucket CORS here: " + detail(err)})
	case answerDenied:
		c.add(Row{Check: check, Status: CannotFix, Do: "the key may not set CORS (s3:PutBucketCORS); " + corsByHand})
	default:
		c.add(Row{Check: check, Status: CannotFix, Do: brief(err) + "; " + corsByHand})
	}
	return nil
}

// access makes the assets bucket publicly readable and checks that no other bucket is.
func (c *checker) access(ctx context.Context, b Bucket) error {
	var doc string
	err := call(ctx, func(ctx context.Context) (err error) { doc, err = c.dst.BucketPolicy(ctx, b.Dest); return err })
	if f := fatal("destination", b.Dest, err); f != nil {
		return f
	}
	if b.Assets {
		return c.publicRead(ctx, b, doc, err)
	}
	check := "not public " + b.Dest
	if err != nil {
		c.add(Row{Check: check, Status: Unknown,
			Do: "the bucket policy could not be read (" + brief(err) + "): check by hand that it grants nothing to everyone"})
		return nil
	}
	grants, err := anonymousGrants(doc)
	switch {
	case err != nil:
		c.add(Row{Check: check, Status: Unknown, Do: err.Error()})
	case len(grants) > 0:
		c.add(Row{Check: check, Status: Warn,
			Do: "its policy allows everyone " + strings.Join(grants, "; ") + ": remove that statement (only the assets bucket is public)"})
	default:
		c.add(Row{Check: check, Status: OK, Do: "no public access"})
	}
	return nil
}

func (c *checker) publicRead(ctx context.Context, b Bucket, doc string, readErr error) error {
	check := "public read " + b.Dest
	byHand := fmt.Sprintf("allow s3:GetObject on arn:aws:s3:::%s/* to Principal \"*\" by hand (on AWS, Block Public Access must allow public bucket policies)", b.Dest)
	if readErr != nil {
		// Writing a policy that was not read would throw away whatever is there.
		c.add(Row{Check: check, Status: CannotFix, Do: "the bucket policy could not be read (" + brief(readErr) + "); " + byHand})
		return nil
	}
	ok, err := publicRead(doc, b.Dest)
	if err != nil {
		c.add(Row{Check: check, Status: CannotFix, Do: err.Error() + "; " + byHand})
		return nil
	}
	if ok {
		c.add(Row{Check: check, Status: OK, Do: "everyone may read its objects (OpenReplay's player loads assets from it)"})
		return nil
	}
	if c.o.DryRun {
		c.add(Row{Check: check, Status: WouldFix, Do: "would allow s3:GetObject to everyone on it"})
		return nil
	}
	next, err := withPublicRead(doc, b.Dest)
	if err != nil {
		c.add(Row{Check: check, Status: CannotFix, Do: err.Error() + "; " + byHand})
		return nil
	}
	err = call(ctx, func(ctx context.Context) error { return c.dst.SetBucketPolicy(ctx, b.Dest, next) })
	if f := fatal("destination", b.Dest, err); f != nil {
		return f
	}
	switch classify(err) {
	case answerOK:
		c.add(Row{Check: check, Status: Fixed, Do: "allowed s3:GetObject to everyone on it"})
	case answerDenied:
		c.add(Row{Check: check, Status: CannotFix, Do: "the key may not set the bucket policy (s3:PutBucketPolicy); " + byHand})
	default:
		c.add(Row{Check: check, Status: CannotFix, Do: brief(err) + "; " + byHand})
	}
	return nil
}

// probe makes one real call per permission on a probe key under ProbePrefix.
func (c *checker) probe(ctx context.Context, b Bucket) error {
	record := func(action string, o outcome) error {
		o.bucket = b.Dest
		if f := fatal("destination", b.Dest, o.err); f != nil {
			return f
		}
		c.probes[action] = append(c.probes[action], o)
		return nil
	}
	// Read-only probes run in a dry run too: a missing probe object answers NoSuchKey
	// to a key that may read, AccessDenied to one that may not.
	if err := record("s3:ListBucket", outcome{err: listFirst(ctx, c.dst, b.Dest)}); err != nil {
		return err
	}
	if c.o.DryRun {
		return c.readProbes(ctx, record, b)
	}
	sum := md5sum([]byte(probeBody))
	err := call(ctx, func(ctx context.Context) error {
		_, err := c.dst.Put(ctx, b.Dest, probeKey, strings.NewReader(probeBody), int64(len(probeBody)), sum[:],
			store.Header{ContentType: "text/plain; charset=utf-8"})
		return err
	})
	if err := record("s3:PutObject", outcome{err: err}); err != nil {
		return err
	}
	err = call(ctx, func(ctx context.Context) error {
		return c.dst.PutTags(ctx, b.Dest, probeKey, map[string]string{"openreplay-migrator": "preflight"})
	})
	if err := record("s3:PutObjectTagging", outcome{err: err}); err != nil {
		return err
	}
	if err := c.readProbes(ctx, record, b); err != nil {
		return err
	}
	if err := record("s3:AbortMultipartUpload", c.abortProbe(ctx, b)); err != nil {
		return err
	}
	del := outcome{err: call(ctx, func(ctx context.Context) error { return c.dst.Remove(ctx, b.Dest, probeKey) })}
	if del.err != nil {
		if err := call(ctx, func(ctx context.Context) error { _, err := c.dst.Stat(ctx, b.Dest, probeKey); return err }); err == nil {
			del.leftover = b.Dest + "/" + probeKey
		}
	}
	return record("s3:DeleteObject", del)
}

func (c *checker) readProbes(ctx context.Context, record func(string, outcome) error, b Bucket) error {
	err := call(ctx, func(ctx context.Context) error {
		body, _, err := c.dst.Get(ctx, b.Dest, probeKey, 0)
		if err == nil {
			_, err = readAll(body)
		}
		return err
	})
	if err := record("s3:GetObject", outcome{err: err}); err != nil {
		return err
	}
	err = call(ctx, func(ctx context.Context) error { return c.dst.ObjectACL(ctx, b.Dest, probeKey) })
	if err := record("s3:GetObjectAcl", outcome{err: err}); err != nil {
		return err
	}
	err = call(ctx, func(ctx context.Context) error { _, err := c.dst.Tags(ctx, b.Dest, probeKey); return err })
	return record("s3:GetObjectTagging", outcome{err: err})
}

// abortProbe starts an empty multipart upload and aborts it. Without s3:PutObject no
// upload can start; aborting an upload that does not exist still asks the service
// whether the key may abort.
func (c *checker) abortProbe(ctx context.Context, b Bucket) outcome {
	abort := func(id string) error {
		return call(ctx, func(ctx context.Context) error { return c.dst.AbortMultipart(ctx, b.Dest, probeUploadKey, id) })
	}
	var id string
	err := call(ctx, func(ctx context.Context) (err error) {
		id, err = c.dst.CreateMultipart(ctx, b.Dest, probeUploadKey, store.Header{ContentType: "text/plain"}, store.NoChecksum)
		return err
	})
	if err != nil {
		return outcome{err: abort("openreplay-migrator-preflight-probe")}
	}
	o := outcome{err: abort(id)}
	if o.err != nil {
		o.leftover = b.Dest + "/" + probeUploadKey
	}
	return o
}

// permissionRows turns the probes into one row per permission, over every bucket.
func (c *checker) permissionRows(ctx context.Context) {
	for _, p := range permissions {
		outs := c.probes[p.action]
		if len(outs) == 0 {
			why := "no destination bucket could be probed"
			if c.o.DryRun {
				why = "--dry-run writes nothing; run without it to probe"
			}
			c.add(Row{Check: p.action, Status: NotProbed, Do: why})
			continue
		}
		var denied, unsupported, other, leftovers []string
		for _, o := range outs {
			switch classify(o.err) {
			case answerOK, answerNotFound:
			case answerDenied:
				denied = append(denied, o.bucket)
			case answerUnsupported:
				unsupported = append(unsupported, o.bucket)
			default:
				other = append(other, o.bucket+": "+brief(o.err))
			}
			if o.leftover != "" {
				leftovers = append(leftovers, o.leftover)
			}
		}
		c.add(c.permissionRow(ctx, p, denied, unsupported, other, leftovers))
	}
}

func (c *checker) permissionRow(ctx context.Context, p permission, denied, unsupported, other, leftovers []string) Row {
	r := Row{Check: p.action}
	on := func(bs []string) string { return " on " + strings.Join(bs, ", ") }
	switch {
	case len(other) > 0:
		r.Status, r.Do = Unknown, strings.Join(other, "; ")
		r.Blocking = p.copyNeeds
	case len(unsupported) > 0 && p.action == "s3:PutObjectTagging":
		r.Status = NA
		r.Do = "the service keeps no object tags" + on(unsupported) + ": OpenReplay's retention tags are lost there; expire objects by age with a lifecycle rule"
	case len(unsupported) > 0:
		r.Status, r.Do = NA, "the service does not implement it"+on(unsupported)
	case len(denied) == 0 && p.action == "s3:DeleteObject":
		r.Status, r.Do = Granted, "more than the guide grants; the migrator deletes nothing but its own probe"
	case len(denied) == 0:
		r.Status = Granted
	case p.action == "s3:DeleteObject":
		r.Status, r.Fine = Denied, true
		r.Do = "fine: the guide grants none and the migrator deletes nothing"
		if len(leftovers) > 0 {
			r.Do += "; the probe object stays at " + strings.Join(leftovers, ", ") + ": delete it with an admin key (`migrator verify` lists it as extra; cutover's verify ignores it)"
		}
	case p.action == "s3:AbortMultipartUpload":
		r.Status = Denied
		covered := c.abortCovered(ctx, denied)
		if len(covered) == len(denied) {
			r.Do = "covered: each of these buckets aborts incomplete uploads by lifecycle rule (" + strings.Join(covered, ", ") + ")"
			r.Fine = true
			break
		}
		r.Do = "uploads cut by a crash would linger, billed: grant s3:AbortMultipartUpload" + on(denied) +
			", or add a lifecycle rule AbortIncompleteMultipartUpload (DaysAfterInitiation: 7) to each"
		if len(leftovers) > 0 {
			r.Do += "; the probe's empty upload stays until then under " + strings.Join(leftovers, ", ")
		}
	default:
		r.Status = Denied
		resource := "arn:aws:s3:::BUCKET/*"
		if p.action == "s3:ListBucket" || p.action == "s3:GetBucketLocation" {
			resource = "arn:aws:s3:::BUCKET"
		}
		r.Do = fmt.Sprintf("add %s on %s to the destination key's policy%s", p.action, resource, on(denied))
		if p.copyNeeds {
			r.Blocking = true
			r.Do = "the copy needs it: " + r.Do
		} else {
			r.Do = "OpenReplay needs it after the switch (the guide lists it): " + r.Do
		}
	}
	return r
}

// abortCovered returns "bucket: N days" for the buckets whose lifecycle aborts
// incomplete multipart uploads.
func (c *checker) abortCovered(ctx context.Context, buckets []string) []string {
	var out []string
	for _, b := range buckets {
		for _, r := range c.destLifecycle(ctx, b) {
			if r.Enabled && r.AbortIncompleteDays > 0 && r.Prefix == "" && len(r.Tags) == 0 {
				out = append(out, fmt.Sprintf("%s: %d days", b, r.AbortIncompleteDays))
				break
			}
		}
	}
	return out
}

func (c *checker) destLifecycle(ctx context.Context, bucket string) []s3.LifecycleRule {
	if rules, ok := c.destLCs[bucket]; ok {
		return rules
	}
	// An unreadable lifecycle counts as none: the rows that use it then recommend a rule.
	var rules []s3.LifecycleRule
	_ = call(ctx, func(ctx context.Context) (err error) { rules, err = c.dst.BucketLifecycle(ctx, bucket); return err })
	c.destLCs[bucket] = rules
	return rules
}

// source checks that the source bucket can be read and whether its lifecycle expires
// objects by tag, which the destination would need a rule of its own for.
func (c *checker) source(ctx context.Context, b Bucket) error {
	listErr := listFirst(ctx, c.src, b.Source)
	if f := fatal("source", b.Source, listErr); f != nil {
		return f
	}
	check := "source " + b.Source
	switch classify(listErr) {
	case answerOK:
		c.add(Row{Check: check, Status: OK, Do: "readable"})
	case answerNoBucket:
		c.add(Row{Check: check, Status: Missing, Blocking: true,
			Do: "does not exist: fix buckets: in the config (or global.s3 in vars.yaml)"})
		return nil
	case answerDenied:
		c.add(Row{Check: check, Status: Missing, Blocking: true,
			Do: "the source key may not list it: it needs s3:ListBucket and s3:GetObject"})
		return nil
	default:
		c.add(Row{Check: check, Status: Unknown, Blocking: true, Do: brief(listErr)})
		return nil
	}
	check = "lifecycle " + b.Source
	var rules []s3.LifecycleRule
	err := call(ctx, func(ctx context.Context) (err error) { rules, err = c.src.BucketLifecycle(ctx, b.Source); return err })
	if f := fatal("source", b.Source, err); f != nil {
		return f
	}
	if err != nil {
		c.add(Row{Check: check, Status: Unknown,
			Do: "the source lifecycle could not be read (" + brief(err) + "); if it expires objects by tag, give " + b.Dest + " the same rule"})
		return nil
	}
	var missing []string
	for _, r := range rules {
		if !r.Enabled || len(r.Tags) == 0 {
			continue
		}
		if !c.hasRule(ctx, b.Dest, r) {
			missing = append(missing, describeRule(r))
		}
	}
	switch {
	case len(missing) > 0:
		c.add(Row{Check: check, Status: Warn,
			Do: "the source expires objects by tag (" + strings.Join(missing, "; ") + "); tags are copied, rules are not: add the same rule to " + b.Dest})
	case hasTagRule(rules):
		c.add(Row{Check: check, Status: OK, Do: b.Dest + " has the same tag-based rules"})
	default:
		c.add(Row{Check: check, Status: OK, Do: "no tag-based rule"})
	}
	return nil
}

func hasTagRule(rules []s3.LifecycleRule) bool {
	return slices.ContainsFunc(rules, func(r s3.LifecycleRule) bool { return r.Enabled && len(r.Tags) > 0 })
}

// hasRule reports a destination rule with the same filter and expiration as r.
func (c *checker) hasRule(ctx context.Context, bucket string, r s3.LifecycleRule) bool {
	for _, d := range c.destLifecycle(ctx, bucket) {
		if d.Enabled && d.Prefix == r.Prefix && maps.Equal(d.Tags, r.Tags) && d.ExpireDays == r.ExpireDays {
			return true
		}
	}
	return false
}

func describeRule(r s3.LifecycleRule) string {
	keys := slices.Sorted(maps.Keys(r.Tags))
	var tags []string
	for _, k := range keys {
		tags = append(tags, k+"="+r.Tags[k])
	}
	d := "objects tagged " + strings.Join(tags, ",")
	if r.Prefix != "" {
		d += " under " + r.Prefix
	}
	if r.ExpireDays > 0 {
		d += fmt.Sprintf(" expire after %d days", r.ExpireDays)
	}
	if r.ID != "" {
		d = "rule " + r.ID + ": " + d
	}
	return d
}
