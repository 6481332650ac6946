package verify

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// deepChecker compares what travels with each object besides its bytes. Without Deep it
// does nothing, so a plain verify stays at two listings.
type deepChecker struct {
	v    *Verifier
	p    copy.Pair
	ctx  context.Context
	g    *errgroup.Group
	add  func(Difference)
	skip bool
}

func (v *Verifier) deepChecker(ctx context.Context, p copy.Pair, add func(Difference)) *deepChecker {
	d := &deepChecker{v: v, p: p, add: add, skip: !v.Deep}
	if v.Deep {
		d.g, d.ctx = errgroup.WithContext(ctx)
		d.g.SetLimit(max(v.Workers, 1))
	}
	return d
}

func (d *deepChecker) check(key string) {
	if d.skip {
		return
	}
	d.g.Go(func() error {
		a, err := d.describe(d.v.Src, d.p.Source, key)
		if err != nil {
			return err
		}
		b, err := d.describe(d.v.Dst, d.p.Dest, key)
		if err != nil {
			return err
		}
		var lost []string
		if strings.HasSuffix(key, "/") {
			lost = b.lostAsFolder(a)
		}
		switch {
		case a.headers == b.headers && a.tags == b.tags:
		case a.headers == b.headers && b.tags == "":
			// The bucket keeps no tags (R2 refuses them, GCS has none): a loss the
			// copy reported, not a copy gone wrong.
			d.add(Difference{Kind: TagsDropped, Key: key, Detail: "the destination keeps no tags; source has " + a.tags})
		case len(lost) > 0:
			d.add(Difference{Kind: Different, Key: key, Detail: "the destination keeps this key ending in / as a folder and dropped its " +
				strings.Join(lost, ", ") + " (versitygw's posix backend and SeaweedFS do): source " + a.String() + "; destination " + b.String()})
		default:
			d.add(Difference{Kind: Different, Key: key, Detail: "headers, metadata or tags differ: source " + a.String() + "; destination " + b.String()})
		}
		return nil
	})
}

func (d *deepChecker) wait() error {
	if d.skip {
		return nil
	}
	return d.g.Wait()
}

// description is an object's headers, metadata and tags, each rendered in a fixed order.
type description struct {
	h             store.Header
	headers, tags string
}

func (d description) String() string { return d.headers + " tags={" + d.tags + "}" }

// lostAsFolder names what d, under a key ending in "/", lacks of what src had, the
// way stores that keep such keys as folders lose it: versitygw's posix backend every
// header (its Content-Type becomes application/x-directory), SeaweedFS all but the
// Content-Type.
func (d description) lostAsFolder(src description) []string {
	var lost []string
	if d.h.ContentType != src.h.ContentType {
		lost = append(lost, "Content-Type")
	}
	for _, h := range []struct{ name, src, dst string }{
		{"Content-Encoding", src.h.ContentEncoding, d.h.ContentEncoding},
		{"Cache-Control", src.h.CacheControl, d.h.CacheControl},
		{"Content-Disposition", src.h.ContentDisposition, d.h.ContentDisposition},
		{"Content-Language", src.h.ContentLanguage, d.h.ContentLanguage},
	} {
		if h.src != "" && h.dst == "" {
			lost = append(lost, h.name)
		}
	}
	if len(src.h.UserMetadata) > 0 && len(d.h.UserMetadata) == 0 {
		lost = append(lost, "user metadata")
	}
	if src.tags != "" && d.tags == "" {
		lost = append(lost, "tags")
	}
	return lost
}

func (d *deepChecker) describe(s store.Store, bucket, key string) (description, error) {
	m, err := s.Stat(d.ctx, bucket, key)
	if err != nil {
		return description{}, err
	}
	var tags map[string]string
	if m.TagCount > 0 {
		if tags, err = s.Tags(d.ctx, bucket, key); err != nil {
			return description{}, err
		}
	}
	h := m.Header
	// The copy adds the source's Last-Modified: no difference the user made.
	if _, ok := h.UserMetadata[store.SourceLastModifiedMeta]; ok {
		h.UserMetadata = maps.Clone(h.UserMetadata)
		delete(h.UserMetadata, store.SourceLastModifiedMeta)
	}
	return description{
		h: h,
		headers: fmt.Sprintf("type=%q encoding=%q cache=%q disposition=%q language=%q meta={%s}",
			h.ContentType, h.ContentEncoding, h.CacheControl, h.ContentDisposition, h.ContentLanguage, sorted(h.UserMetadata)),
		tags: sorted(tags),
	}, nil
}

func sorted(m map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}
