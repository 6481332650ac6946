package copy

import "sync"

// partETagHints remembers, per destination bucket, whether the destination answers an
// UploadPart with the MD5 of the part as its ETag. It is only a hint of which proof a
// multipart copy tries first (see copyMultipart): either proof is complete on its own,
// and a wrong hint costs one aborted upload, never an unproven object. An Engine keeps
// one for its destination, for its life (every pass of a serve).
type partETagHints struct{ m sync.Map } // bucket -> bool

func (h *partETagHints) areMD5(bucket string) bool {
	v, ok := h.m.Load(bucket)
	return ok && v.(bool)
}

// knownNotMD5 tells whether the destination has shown ETags that are no MD5s.
func (h *partETagHints) knownNotMD5(bucket string) bool {
	v, ok := h.m.Load(bucket)
	return ok && !v.(bool)
}

// learn records what a part ETag showed: false (an ETag that is no MD5) wins over true.
func (h *partETagHints) learn(bucket string, md5 bool) {
	if md5 {
		h.m.LoadOrStore(bucket, true)
		return
	}
	h.m.Store(bucket, false)
}
