package s3

import (
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"

	"github.com/minio/minio-go/v7"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// crc32cTrailer is the trailer that carries a part's CRC32C after its body.
const crc32cTrailer = "X-Amz-Checksum-Crc32c"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// trailingChecksum hashes a part's body as minio-go streams it and writes the sum into
// the request's trailer when the body ends: the service checks it against the bytes it
// received before it keeps the part, and only a chunk of the body is ever in memory.
type trailingChecksum struct {
	r       io.Reader
	h       hash.Hash32
	trailer http.Header
	sent    string // the base64 sum, once the body ended
}

func newTrailingChecksum(body io.Reader, sum store.Checksum) (*trailingChecksum, io.Reader) {
	t := &trailingChecksum{r: body, h: crc32.New(castagnoli)}
	// minio-go sizes the chunked stream by the trailer's value before the body is
	// read: the placeholder has the length of every CRC32C in base64.
	t.trailer = http.Header{crc32cTrailer: {base64.StdEncoding.EncodeToString(make([]byte, 4))}}
	return t, t
}

func (t *trailingChecksum) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		t.sent = base64.StdEncoding.EncodeToString(t.h.Sum(nil))
		t.trailer.Set(crc32cTrailer, t.sent)
	}
	return n, err
}

// confirmed is the checksum the service answered for the part: the one sent, which it
// verified. "" when it answered none (a service that ignores checksums: then the part
// is proven by nothing it said). A different one would mean the service hashed other
// bytes than it accepted, which no service should answer.
func (t *trailingChecksum) confirmed(p minio.ObjectPart) (string, error) {
	got := p.ChecksumCRC32C
	if got != "" && got != t.sent {
		return "", fmt.Errorf("service answered CRC32C %s for a part sent with %s", got, t.sent)
	}
	return got, nil
}

// withChecksumAlgorithm returns meta with the headers that create a multipart upload
// whose parts each carry sum and are listed with it on completion (S3's COMPOSITE
// type). minio-go sends x-amz-checksum-* entries of UserMetadata as they are; meta is
// the object's own and is not changed.
func withChecksumAlgorithm(meta map[string]string, sum store.Checksum) map[string]string {
	out := make(map[string]string, len(meta)+2)
	for k, v := range meta {
		out[k] = v
	}
	out["x-amz-checksum-algorithm"] = string(sum)
	out["x-amz-checksum-type"] = "COMPOSITE"
	return out
}
