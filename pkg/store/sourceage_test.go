package store

import (
	"strings"
	"testing"
	"time"
)

func TestWithSourceLastModified(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	orig := Header{UserMetadata: map[string]string{"a": "1"}}
	h := WithSourceLastModified(orig, at)
	if got := h.UserMetadata[SourceLastModifiedMeta]; got != "2026-03-04T04:06:07Z" || h.UserMetadata["a"] != "1" {
		t.Errorf("metadata %v", h.UserMetadata)
	}
	if _, ok := orig.UserMetadata[SourceLastModifiedMeta]; ok {
		t.Error("the source header's map was modified")
	}
	// A copy of a copy keeps the first source's date.
	again := WithSourceLastModified(h, at.Add(time.Hour))
	if again.UserMetadata[SourceLastModifiedMeta] != "2026-03-04T04:06:07Z" {
		t.Errorf("second copy rewrote the date: %v", again.UserMetadata)
	}
	// Metadata near S3's 2 KB limit is copied as it is rather than refused.
	full := Header{UserMetadata: map[string]string{"big": strings.Repeat("x", 2000)}}
	if h := WithSourceLastModified(full, at); len(h.UserMetadata) != 1 {
		t.Errorf("added past the limit: %d keys", len(h.UserMetadata))
	}
	if h := WithSourceLastModified(Header{}, time.Time{}); h.UserMetadata != nil {
		t.Error("an unknown date was recorded")
	}
}
