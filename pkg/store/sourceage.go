package store

import "time"

// SourceLastModifiedMeta is the user metadata key (x-amz-meta-openreplay-migrator-
// source-last-modified) under which a copy keeps its source object's Last-Modified, as
// RFC 3339 UTC. A destination dates every object from its copy, so this is the only
// record left of a recording's real age; an object that already carries the key (a
// copy of a copy) keeps the first one.
const SourceLastModifiedMeta = "openreplay-migrator-source-last-modified"

// maxUserMetadata is S3's limit on the user metadata of one object, in bytes of keys
// and values.
const maxUserMetadata = 2048

// WithSourceLastModified returns h with SourceLastModifiedMeta set to t, unless h has it
// already, t is unknown, or it would take the metadata past S3's 2 KB limit (the age is
// a convenience; the object must still be copied). h's map is not modified.
func WithSourceLastModified(h Header, t time.Time) Header {
	if t.IsZero() {
		return h
	}
	if _, ok := h.UserMetadata[SourceLastModifiedMeta]; ok {
		return h
	}
	v := t.UTC().Format(time.RFC3339)
	size := len(SourceLastModifiedMeta) + len(v)
	meta := make(map[string]string, len(h.UserMetadata)+1)
	for k, x := range h.UserMetadata {
		meta[k] = x
		size += len(k) + len(x)
	}
	if size > maxUserMetadata {
		return h
	}
	meta[SourceLastModifiedMeta] = v
	h.UserMetadata = meta
	return h
}
