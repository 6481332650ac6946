package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/copy"
)

// The summary says how many objects lost their tags, and what that means for OpenReplay.
func TestCopySummaryCountsObjectsCopiedWithoutTags(t *testing.T) {
	var out bytes.Buffer
	printCopyReport(&Env{Stdout: &out}, []copy.Result{
		{Pair: copy.Pair{Source: "mobs", Dest: "r2-recordings"}, Copied: 30, TagsDropped: 27},
		{Pair: copy.Pair{Source: "sessions-assets", Dest: "r2-assets"}, Copied: 5},
	}, time.Second, &common{})
	got := out.String()
	if !strings.Contains(got, "27 objects copied without their tags") || !strings.Contains(got, "USE_S3_TAGS=false") {
		t.Fatalf("summary:\n%s\nwant the 27 objects without tags and USE_S3_TAGS=false named", got)
	}
	if strings.Count(got, "without their tags") != 1 {
		t.Fatalf("summary:\n%s\nwant the warning for the recordings' bucket only", got)
	}
}
