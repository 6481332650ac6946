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
		switch {
		case a.headers == b.headers && a.tags == b.tags:
		case a.headers == b.headers && b.tags == "":
			// The bucket keeps no tags (R2 refuses them, GCS has none): a loss the
			// copy reported, not a copy gone wrong.
			d.add(Difference{Kind: TagsDropped, Key: key, Detail: "the destination keeps no tags; source has " + a.tags})
		case strings.HasSuffix(key, "/") && b.lostFolderHeaders(a):
			d.add(Difference{Kind: Different, Key: key, Detail: "the destination keeps this key ending in / as a folder, " +
				"without its Content-Type, Content-Encoding and Cache-Control (versitygw's posix backend does): source " + a.String() + "; destination " + b.String()})
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

// lostFolderHeaders: d, under a key ending in "/", lacks a header src had, the way a
// store that keeps such keys as folders loses them.
func (d description) lostFolderHeaders(src description) bool {
	return d.h.ContentType != src.h.ContentType || (src.h.ContentEncoding != "" && d.h.ContentEncoding == "") ||
		(src.h.CacheControl != "" && d.h.CacheControl == "")
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
