package checkpoint_test

import (
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/checkpoint"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// A resolved conflict is kept in both kinds of store, per pair and apart from the
// checkpoints, and accepts exactly the two objects it was made for.
func TestStoreKeepsResolvedConflicts(t *testing.T) {
	for kind, open := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := t.Context()
			st, _ := open(t)
			r, err := st.LoadResolutions(ctx, "mobs--recordings")
			if err != nil || len(r.Keys) != 0 {
				t.Fatalf("nothing saved yet: LoadResolutions = %+v, %v; want none", r, err)
			}
			src := store.Object{Key: "1/dom.mobs", Size: 10, ETag: "aaa"}
			dst := store.Object{Key: "1/dom.mobs", Size: 12, ETag: "bbb"}
			r.Accept(src.Key, "destination", src, dst, time.Now())
			if err := st.SaveResolutions(ctx, "mobs--recordings", r); err != nil {
				t.Fatal(err)
			}
			// A checkpoint of the same name is another thing: saving it keeps the resolutions.
			if err := st.Save(ctx, "mobs--recordings", &checkpoint.State{Watermark: "z"}); err != nil {
				t.Fatal(err)
			}
			got, err := st.LoadResolutions(ctx, "mobs--recordings")
			if err != nil {
				t.Fatal(err)
			}
			if !got.Accepts(src.Key, src, dst) {
				t.Fatalf("reloaded resolutions %+v do not accept what was resolved", got)
			}
			changedSrc, changedDst := src, dst
			changedSrc.ETag, changedDst.ETag = "ccc", "ddd"
			if got.Accepts(src.Key, changedSrc, dst) || got.Accepts(src.Key, src, changedDst) || got.Accepts("2/dom.mobs", src, dst) {
				t.Fatal("a resolution accepts objects written after it, or another key")
			}
			if other, err := st.LoadResolutions(ctx, "sourcemaps--maps"); err != nil || len(other.Keys) != 0 {
				t.Fatalf("another pair's resolutions: %+v, %v; want none", other, err)
			}
		})
	}
}
