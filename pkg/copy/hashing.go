package copy

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
)

// sourceReader counts (and optionally hashes) what is read from a source body, and
// remembers a read error, which the HTTP client that sends the body would otherwise
// report only as a short body.
type sourceReader struct {
	r   io.Reader
	h   hash.Hash   // nil: count only
	crc hash.Hash32 // nil: no CRC32C
	n   int64
	err error
}

func newSourceReader(r io.Reader, hashed bool) *sourceReader {
	s := &sourceReader{r: r}
	if hashed {
		s.h = md5.New()
	}
	return s
}

// newPartReader hashes a part both ways in one pass: the MD5 that the source's ETag
// sums prove, and the CRC32C that the destination's answer must match, so the bytes
// proven at both ends are these same bytes.
func newPartReader(r io.Reader) *sourceReader {
	return &sourceReader{r: r, h: md5.New(), crc: crc32.New(crc32.MakeTable(crc32.Castagnoli))}
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if s.h != nil {
		s.h.Write(p[:n])
	}
	if s.crc != nil {
		s.crc.Write(p[:n])
	}
	s.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	return n, err
}

func (s *sourceReader) sum() []byte { return s.h.Sum(nil) }
func (s *sourceReader) hex() string { return hex.EncodeToString(s.sum()) }

// crc32c is the CRC32C of what was read, in base64 as S3 writes x-amz-checksum-crc32c.
func (s *sourceReader) crc32c() string { return base64.StdEncoding.EncodeToString(s.crc.Sum(nil)) }

// explain prefers the source's read error to the destination's complaint about a short
// body, since it names the real cause; both are worth a retry.
func (s *sourceReader) explain(bucket, key string, putErr error) error {
	if s.err == nil {
		return putErr
	}
	return fmt.Errorf("read %s/%s: %w (%w)", bucket, key, s.err, retry.ErrTransient)
}
