package copy

import "sync"

// partETags remembers, per destination bucket, whether the destination answers an
// UploadPart with the MD5 of the part as its ETag. It is only a hint of which proof a
// multipart copy tries first (see copyMultipart): either proof is complete on its own,
// and a wrong hint costs one aborted upload, never an unproven object. So it may be kept
// by bucket name alone, for the life of the process; a migrator has one destination.
var partETags partETagHints

type partETagHints struct{ m sync.Map } // bucket -> bool

func (h *partETagHints) areMD5(bucket string) bool {
	v, ok := h.m.Load(bucket)
	return ok && v.(bool)
}

// learn records what a part ETag showed: false (an ETag that is no MD5) wins over true.
func (h *partETagHints) learn(bucket string, md5 bool) {
	if md5 {
		h.m.LoadOrStore(bucket, true)
		return
	}
	h.m.Store(bucket, false)
}
