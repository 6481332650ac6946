package copy

import (
	"errors"
	"net/http"
	"sync"

	"go.uber.org/zap"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// TagsDroppedObserver is told of each object copied without its tags because the
// destination bucket keeps none. An Observer may implement it; Observers passes it on.
type TagsDroppedObserver interface {
	TagsDropped(bucket, key string)
}

// TagsDropped passes the call to the members that hear of it.
func (o Observers) TagsDropped(b, k string) {
	for _, x := range o {
		if t, ok := x.(TagsDroppedObserver); ok {
			t.TagsDropped(b, k)
		}
	}
}

// taglessBuckets remembers the destination buckets that refused object tags. Cloudflare
// R2 answers any request carrying x-amz-tagging with 501 NotImplemented (OpenReplay
// issue 2018): once a bucket has said so, its objects are sent without tags rather
// than failing one by one. An Engine keeps one for its life, like partETagHints.
type taglessBuckets struct {
	m      sync.Map // destination bucket -> struct{}
	warned sync.Map // destination bucket -> struct{}: the warning was logged
}

func (b *taglessBuckets) has(bucket string) bool {
	_, ok := b.m.Load(bucket)
	return ok
}

// learn records that bucket refused tags and says once, clearly, what that costs.
func (b *taglessBuckets) learn(log *zap.Logger, bucket string, err error) {
	b.m.Store(bucket, struct{}{})
	if _, seen := b.warned.LoadOrStore(bucket, struct{}{}); seen {
		return
	}
	log.Warn("the destination bucket refuses object tags (NotImplemented, as Cloudflare R2 answers): objects are copied "+
		"without them, so OpenReplay's retention tags (retention=..., to_delete_in_days=...) cannot be kept there and "+
		"lifecycle rules keyed on them will not match; OpenReplay EE's services writing to this store then need "+
		"USE_S3_TAGS=false. The copy summary, /api/status and openreplay_migrator_objects_tags_dropped_total count "+
		"the objects that lost their tags",
		zap.String("bucket", bucket), zap.Error(err))
}

// tagsRefused tells whether err, the answer to a request that carried tags, refused them.
func tagsRefused(err error) bool {
	var se *store.Error
	return errors.As(err, &se) && (se.Code == "NotImplemented" || se.Status == http.StatusNotImplemented)
}
