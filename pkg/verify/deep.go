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
		if a != b {
			d.add(Difference{Kind: Different, Key: key, Detail: "headers, metadata or tags differ: source " + a + "; destination " + b})
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

// describe renders an object's headers, metadata and tags in a fixed order.
func (d *deepChecker) describe(s store.Store, bucket, key string) (string, error) {
	m, err := s.Stat(d.ctx, bucket, key)
	if err != nil {
		return "", err
	}
	var tags map[string]string
	if m.TagCount > 0 {
		if tags, err = s.Tags(d.ctx, bucket, key); err != nil {
			return "", err
		}
	}
	h := m.Header
	// The copy adds the source's Last-Modified: no difference the user made.
	if _, ok := h.UserMetadata[store.SourceLastModifiedMeta]; ok {
		h.UserMetadata = maps.Clone(h.UserMetadata)
		delete(h.UserMetadata, store.SourceLastModifiedMeta)
	}
	return fmt.Sprintf("type=%q encoding=%q cache=%q disposition=%q language=%q meta={%s} tags={%s}",
		h.ContentType, h.ContentEncoding, h.CacheControl, h.ContentDisposition, h.ContentLanguage,
		sorted(h.UserMetadata), sorted(tags)), nil
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
