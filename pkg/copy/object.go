package copy

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// objectCopier copies one object from src to dst, keeping its bytes, headers and tags,
// and, where S3 allows it, its ETag.
type objectCopier struct {
	src, dst       store.Store
	srcBkt, dstBkt string
	partETags      *partETagHints  // what the destination's part ETags have shown
	tagless        *taglessBuckets // destination buckets that refused tags
	log            *zap.Logger
	// sentTags: the attempt's request carried tags; dropped: the object has tags that
	// the destination bucket keeps none of, so they were left out.
	sentTags, dropped bool
	// journal is told of a multipart upload before it is created (durably), of its ID
	// once known, and when it is completed or aborted: a crash at any instant leaves a
	// record from which the next run finds and aborts the upload.
	journal uploadJournal
	// unsure holds the uploads this object's failed attempts may have left behind: the
	// ID of one whose abort failed, "" for a create whose answer never came. A retry
	// that completes the object ends its journal entry, so they are swept after it
	// (pairRun.sweepUploads).
	unsure []string
}

// uploadJournal is told of a multipart upload before it is created (durably), of its ID
// once known, and when it is completed or aborted.
type uploadJournal interface {
	uploadStarting(key string) error
	uploadCreated(key, id string) error
	uploadEnded(key string)
	uploadAbortDenied(key, id string)
}

// copier is the object copier for pair p: every copy the Engine makes, in a pass or by
// `migrator resolve`, goes through one built here, with the Engine's learned hints.
func (e *Engine) copier(p Pair, log *zap.Logger, j uploadJournal) *objectCopier {
	return &objectCopier{src: e.Src, dst: e.Dst, srcBkt: p.Source, dstBkt: p.Dest,
		partETags: &e.partETags, tagless: &e.tagless, log: log, journal: j}
}

// errGone: the source object was deleted after it was listed; nothing to copy.
var errGone = errors.New("source object deleted since it was listed")

// copied is what one object copy achieved.
type copied struct {
	srcETag, dstETag string
	bytes            int64
	tagsDropped      bool // copied without its tags: the destination bucket keeps none
}

// copy copies obj; the returned destination ETag equals the source's unless the
// destination computes ETags its own way.
func (c *objectCopier) copy(ctx context.Context, obj store.Object) (copied, error) {
	c.sentTags, c.dropped = false, false
	cp, err := c.copyOnce(ctx, obj)
	if err != nil && c.sentTags && tagsRefused(err) {
		// The first tagged object of a bucket that keeps no tags: learned once, and
		// this object and every later one go without them.
		c.tagless.learn(c.log, c.dstBkt, err)
		c.sentTags, c.dropped = false, false
		cp, err = c.copyOnce(ctx, obj)
	}
	cp.tagsDropped = err == nil && c.dropped
	return cp, err
}

func (c *objectCopier) copyOnce(ctx context.Context, obj store.Object) (copied, error) {
	if n := multipartParts(obj.ETag); n > 1 {
		return c.copyMultipart(ctx, obj, n)
	}
	return c.copySingle(ctx, obj)
}

func (c *objectCopier) copySingle(ctx context.Context, obj store.Object) (copied, error) {
	body, m, err := c.src.Get(ctx, c.srcBkt, obj.Key, 0)
	if errors.Is(err, store.ErrNotFound) {
		return copied{}, errGone
	}
	if err != nil {
		return copied{}, err
	}
	defer body.Close()
	h, err := c.header(ctx, m)
	if err != nil {
		return copied{}, err
	}
	// A single-part ETag is the MD5 of the body: sent as Content-MD5, the destination
	// itself refuses the object if any byte differs, and nothing is buffered here.
	sum := md5FromETag(m.ETag)
	// Without an MD5 ETag at the source (encrypted, or a foreign service), the store
	// sends a streaming CRC32C the destination checks; the MD5 hashed here on the way
	// is compared with the destination's ETag too, where that is an MD5.
	r := newSourceReader(body, sum == nil)
	etag, err := c.dst.Put(ctx, c.dstBkt, obj.Key, r, m.Size, sum, h)
	if err != nil {
		return copied{}, r.explain(c.srcBkt, obj.Key, err)
	}
	if sum != nil && etag != hex.EncodeToString(sum) {
		// The destination verified the Content-MD5 and answered another ETag: it makes
		// ETags its own way (SSE-KMS, SSE-C), for parts too.
		c.partETags.learn(c.dstBkt, false)
	}
	// Where ETags are known to be no MD5s, the streaming CRC32C the destination
	// checked is the proof, and an ETag unlike the MD5 is no sign of damage.
	if sum == nil && isMD5(etag) && etag != r.hex() && !c.partETags.knownNotMD5(c.dstBkt) {
		return copied{}, fmt.Errorf("put %s/%s: destination ETag %s differs from the MD5 %s of the bytes sent: %w",
			c.dstBkt, obj.Key, etag, r.hex(), retry.ErrTransient)
	}
	return copied{srcETag: m.ETag, dstETag: etag, bytes: m.Size}, nil
}

// copyMultipart uploads the object with the source's own part boundaries, so the
// destination computes the same "md5-of-part-md5s-N" ETag where it computes ETags as
// MD5s. Nothing becomes visible before the parts are proven: their MD5s must add up to
// the source's ETag, and each part must be what the destination stored, before the
// upload is completed, so a damaged object never appears. (Sending Content-MD5 per
// part would mean buffering whole parts in memory: the source's part MD5s are known
// only as their sum.)
//
// Where the destination's part ETags are known to be the MD5s of the parts it stored
// (MinIO, S3 without KMS or customer keys, GCS: learned per bucket, see partETagHints),
// they are that proof, read off the answers, and nothing is hashed here. Until that is
// known, and where they are something else (SSE-KMS, SSE-C), each part is hashed here
// while it streams, MD5 for the sum and CRC32C for the destination: the part is sent
// with that CRC32C, which the destination verifies before it keeps the part, and the
// one it answers must be the one computed here.
func (c *objectCopier) copyMultipart(ctx context.Context, obj store.Object, n int) (copied, error) {
	hashed := !c.partETags.areMD5(c.dstBkt)
	cp, err := c.copyMultipartOnce(ctx, obj, n, hashed)
	if !hashed && errors.Is(err, errUnproven) {
		// The destination's word did not add up (or was no MD5): the upload is
		// aborted; copy again with the parts hashed and checksummed, which tells a
		// damaged part from ETags that are not MD5s.
		cp, err = c.copyMultipartOnce(ctx, obj, n, true)
	}
	return cp, err
}

// errUnproven: the part ETags a destination returned did not prove the parts; the copy
// is repeated with the parts hashed on the way.
var errUnproven = errors.New("the destination's part ETags do not prove the parts")

func (c *objectCopier) copyMultipartOnce(ctx context.Context, obj store.Object, n int, hashed bool) (copied, error) {
	body, m, err := c.src.Get(ctx, c.srcBkt, obj.Key, 1)
	if errors.Is(err, store.ErrNotFound) {
		return copied{}, errGone
	}
	if err != nil {
		return copied{}, err
	}
	if m.PartsCount != n || m.ETag != obj.ETag {
		body.Close()
		if m.ETag != obj.ETag {
			// Overwritten since the listing: copy what is there now.
			o := m.Object
			o.Key = obj.Key
			return c.copyOnce(ctx, o)
		}
		// The service does not serve parts by number: copy in one request instead.
		return c.copySingle(ctx, obj)
	}
	h, err := c.header(ctx, m)
	if err != nil {
		body.Close()
		return copied{}, err
	}
	if err := c.journal.uploadStarting(obj.Key); err != nil {
		body.Close()
		return copied{}, err
	}
	sum := store.NoChecksum
	if hashed {
		sum = store.CRC32C
	}
	id, err := c.dst.CreateMultipart(ctx, c.dstBkt, obj.Key, h, sum)
	if err != nil {
		body.Close()
		// The create may have reached the service: the journal keeps the key, so the
		// next run looks for an upload under it, and so does the sweep after a retry.
		c.unsure = append(c.unsure, "")
		return copied{}, err
	}
	if err := c.journal.uploadCreated(obj.Key, id); err != nil {
		c.abort(obj.Key, id)
		body.Close()
		return copied{}, err
	}
	etag, err := c.uploadParts(ctx, obj, m, body, id, n, sum)
	if err != nil {
		c.abort(obj.Key, id)
		return copied{}, err
	}
	c.journal.uploadEnded(obj.Key)
	return copied{srcETag: obj.ETag, dstETag: etag, bytes: m.Size}, nil
}

// uploadParts sends the parts and proves them before completing the upload: the MD5s of
// the parts must add up to the source's ETag, and each part must be what the
// destination stored. Without sum, the part ETags are both proofs at once. With sum,
// the MD5s are those of the bytes read here, and a part is proven by the destination
// answering the CRC32C computed over those same bytes, or, where it answers none, by
// a part ETag equal to their MD5.
func (c *objectCopier) uploadParts(ctx context.Context, obj store.Object, first store.ObjectMeta, body io.ReadCloser, id string, n int, sum store.Checksum) (string, error) {
	hashed := sum != store.NoChecksum
	parts := make([]store.Part, 0, n)
	sums := md5.New()
	var total int64
	allMD5 := true // every part ETag was the MD5 of its part
	for i := 1; i <= n; i++ {
		size := first.PartSize
		if i > 1 {
			var m store.ObjectMeta
			var err error
			body, m, err = c.src.Get(ctx, c.srcBkt, obj.Key, i)
			if err != nil {
				return "", err
			}
			if m.ETag != obj.ETag {
				body.Close()
				return "", fmt.Errorf("get %s/%s: changed while being copied: %w", c.srcBkt, obj.Key, retry.ErrTransient)
			}
			size = m.PartSize
		}
		hr := newSourceReader(body, false)
		if hashed {
			hr = newPartReader(body)
		}
		part, err := c.dst.UploadPart(ctx, c.dstBkt, obj.Key, id, i, hr, size, nil, sum)
		body.Close()
		if err != nil {
			return "", hr.explain(c.srcBkt, obj.Key, err)
		}
		if hr.n != size {
			return "", fmt.Errorf("get %s/%s part %d: read %d of %d bytes: %w", c.srcBkt, obj.Key, i, hr.n, size, retry.ErrTransient)
		}
		partMD5, err := c.provePart(obj.Key, i, part, hr, hashed)
		if err != nil {
			return "", err
		}
		if !bytes.Equal(md5FromETag(part.ETag), partMD5) {
			allMD5 = false
		}
		sums.Write(partMD5)
		parts = append(parts, part)
		total += size
	}
	if want := fmt.Sprintf("%x-%d", sums.Sum(nil), n); want != obj.ETag {
		if !hashed {
			return "", fmt.Errorf("copy %s/%s: the parts the destination stored add up to ETag %s, source has %s: %w", c.srcBkt, obj.Key, want, obj.ETag, errUnproven)
		}
		return "", fmt.Errorf("copy %s/%s: parts add up to ETag %s, source has %s: %w", c.srcBkt, obj.Key, want, obj.ETag, retry.ErrTransient)
	}
	if total != first.Size {
		return "", fmt.Errorf("copy %s/%s: parts hold %d bytes, object has %d", c.srcBkt, obj.Key, total, first.Size)
	}
	if hashed {
		// Every part ETag equalled the MD5 of the bytes sent: from now on they are the
		// proof in this bucket. One that did not, on a part the destination's CRC32C
		// proved, shows its ETags are something else (SSE-KMS): keep checksumming.
		c.partETags.learn(c.dstBkt, allMD5)
	}
	return c.dst.CompleteMultipart(ctx, c.dstBkt, obj.Key, id, parts)
}

// provePart checks that the destination stored the part as it was read, and returns
// the part's MD5, a term of the source ETag's sum.
func (c *objectCopier) provePart(key string, i int, part store.Part, hr *sourceReader, hashed bool) ([]byte, error) {
	etagMD5 := md5FromETag(part.ETag)
	if !hashed {
		if etagMD5 == nil {
			c.partETags.learn(c.dstBkt, false)
			return nil, fmt.Errorf("put %s/%s part %d: part ETag %q is no MD5: %w", c.dstBkt, key, i, part.ETag, errUnproven)
		}
		return etagMD5, nil
	}
	sent := hr.sum()
	switch {
	case part.Checksum != "" && part.Checksum != hr.crc32c():
		return nil, fmt.Errorf("put %s/%s part %d: destination verified CRC32C %s, the bytes read have %s: %w", c.dstBkt, key, i, part.Checksum, hr.crc32c(), retry.ErrTransient)
	case part.Checksum != "":
		return sent, nil
	case etagMD5 == nil:
		return nil, fmt.Errorf("put %s/%s part %d: the destination answered neither the part's CRC32C nor an MD5 ETag (%q): nothing proves what it stored", c.dstBkt, key, i, part.ETag)
	case !bytes.Equal(etagMD5, sent):
		return nil, fmt.Errorf("put %s/%s part %d: destination stored other bytes than were sent: %w", c.dstBkt, key, i, retry.ErrTransient)
	}
	return sent, nil
}

// abort discards an upload even when ctx is already cancelled (SIGTERM, grace over).
func (c *objectCopier) abort(key, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.dst.AbortMultipart(ctx, c.dstBkt, key, id)
	switch {
	case err == nil:
		c.journal.uploadEnded(key)
	case denied(err):
		c.journal.uploadAbortDenied(key, id)
	default:
		// The upload stays in the journal, and the sweep after this object's last
		// attempt tries again.
		c.unsure = append(c.unsure, id)
	}
}

// header is what the object carries besides its bytes, plus its source Last-Modified
// (age-based clean-up at the destination can be exact only with it); tags cost a
// request, so they are fetched only when the GET said there are some and did not
// bring them all.
func (c *objectCopier) header(ctx context.Context, m store.ObjectMeta) (store.Header, error) {
	h := store.WithSourceLastModified(m.Header, m.LastModified)
	if m.TagCount > 0 && c.tagless.has(c.dstBkt) {
		h.Tags, c.dropped = nil, true // nothing to keep them in: not even asked for
		return h, nil
	}
	defer func() { c.sentTags = len(h.Tags) > 0 }()
	if m.TagCount > 0 && len(h.Tags) != m.TagCount {
		t, err := c.src.Tags(ctx, c.srcBkt, m.Key)
		if err != nil {
			return h, err
		}
		h.Tags = t
	}
	return h, nil
}

// maxParts is the most parts S3 allows in one upload.
const maxParts = 10000

// multipartParts is N for an ETag "<md5>-N", else 0. An N beyond S3's limit is no
// multipart ETag (the copier would otherwise size its part list by it).
func multipartParts(etag string) int {
	i := strings.LastIndexByte(etag, '-')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(etag[i+1:])
	if err != nil || n < 1 || n > maxParts || !isMD5(etag[:i]) {
		return 0
	}
	return n
}

func isMD5(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func md5FromETag(etag string) []byte {
	if !isMD5(etag) {
		return nil
	}
	b, _ := hex.DecodeString(etag)
	return b
}
