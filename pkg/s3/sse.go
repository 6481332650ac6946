package s3

import (
	"fmt"

	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// SSE is the server-side encryption a client asks for on every object it writes, for
// buckets whose policy demands the header (a bucket's default encryption needs none).
type SSE struct {
	Type     string // SSEKMS or SSES3
	KMSKeyID string // with SSEKMS; "" is the service's default key (AWS: aws/s3)
}

// The x-amz-server-side-encryption values.
const (
	SSEKMS = "aws:kms"
	SSES3  = "AES256"
)

func (s *SSE) serverSide() (encrypt.ServerSide, error) {
	switch {
	case s == nil:
		return nil, nil
	case s.Type == SSES3 && s.KMSKeyID == "":
		return encrypt.NewSSE(), nil
	case s.Type == SSEKMS:
		return encrypt.NewSSEKMS(s.KMSKeyID, nil)
	}
	return nil, fmt.Errorf("sse: type %q with kmsKeyId %q: want type %s (with an optional kmsKeyId) or %s (without)", s.Type, s.KMSKeyID, SSEKMS, SSES3)
}
