package preflight

import (
	"context"
	"fmt"
	"strings"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

const (
	probeKey       = ProbePrefix + "preflight-probe"
	probeUploadKey = ProbePrefix + "preflight-probe-upload"
	probeBody      = "written by `migrator preflight` to test the key's permissions; safe to delete\n"
)

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
	if err := record("s3:ListBucket", outcome{err: c.listFirst(ctx, c.dst, b.Dest)}); err != nil {
		return err
	}
	if c.o.DryRun {
		return c.readProbes(ctx, record, b)
	}
	sum := md5sum([]byte(probeBody))
	err := c.call(ctx, func(ctx context.Context) error {
		_, err := c.dst.Put(ctx, b.Dest, probeKey, strings.NewReader(probeBody), int64(len(probeBody)), sum[:],
			store.Header{ContentType: "text/plain; charset=utf-8"})
		return err
	})
	if err := record("s3:PutObject", outcome{err: err}); err != nil {
		return err
	}
	err = c.call(ctx, func(ctx context.Context) error {
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
	del := outcome{err: c.call(ctx, func(ctx context.Context) error { return c.dst.Remove(ctx, b.Dest, probeKey) })}
	if del.err != nil {
		if err := c.call(ctx, func(ctx context.Context) error { _, err := c.dst.Stat(ctx, b.Dest, probeKey); return err }); err == nil {
			del.leftover = b.Dest + "/" + probeKey
		}
	}
	return record("s3:DeleteObject", del)
}

func (c *checker) readProbes(ctx context.Context, record func(string, outcome) error, b Bucket) error {
	err := c.call(ctx, func(ctx context.Context) error {
		body, _, err := c.dst.Get(ctx, b.Dest, probeKey, 0)
		if err == nil {
			_, err = readAll(body)
		}
		return err
	})
	if err := record("s3:GetObject", outcome{err: err}); err != nil {
		return err
	}
	err = c.call(ctx, func(ctx context.Context) error { return c.dst.ObjectACL(ctx, b.Dest, probeKey) })
	if err := record("s3:GetObjectAcl", outcome{err: err}); err != nil {
		return err
	}
	err = c.call(ctx, func(ctx context.Context) error { _, err := c.dst.Tags(ctx, b.Dest, probeKey); return err })
	return record("s3:GetObjectTagging", outcome{err: err})
}

// abortProbe starts an empty multipart upload and aborts it. Without s3:PutObject no
// upload can start; aborting an upload that does not exist still asks the service
// whether the key may abort.
func (c *checker) abortProbe(ctx context.Context, b Bucket) outcome {
	abort := func(id string) error {
		return c.call(ctx, func(ctx context.Context) error { return c.dst.AbortMultipart(ctx, b.Dest, probeUploadKey, id) })
	}
	var id string
	err := c.call(ctx, func(ctx context.Context) (err error) {
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
