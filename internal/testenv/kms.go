package testenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"

	"github.com/minio/minio-go/v7/pkg/sse"
)

// KMSKeyID is the name of the key a MinIO started with MinIOOptions.KMS holds.
const KMSKeyID = "migrator-test-key"

// kmsEnv gives MinIO one static KMS key (MINIO_KMS_SECRET_KEY, name:base64 of 32 bytes):
// enough for SSE-S3 and for SSE-KMS naming that key, with no KMS server to run.
func kmsEnv() string {
	key := make([]byte, 32)
	rand.Read(key)
	return "MINIO_KMS_SECRET_KEY=" + KMSKeyID + ":" + base64.StdEncoding.EncodeToString(key)
}

// Encryption is a bucket's default encryption.
type Encryption int

const (
	SSES3  Encryption = iota + 1 // mc encrypt set sse-s3
	SSEKMS                       // mc encrypt set sse-kms KMSKeyID
)

func (e Encryption) String() string {
	switch e {
	case SSES3:
		return "SSE-S3"
	case SSEKMS:
		return "SSE-KMS"
	}
	return "none"
}

// EncryptBucket sets the bucket's default encryption, as an operator does on the
// destination before a migration; the server must have been started with KMS.
func (m *MinIO) EncryptBucket(bucket string, e Encryption) {
	m.t.Helper()
	cfg := sse.NewConfigurationSSES3()
	if e == SSEKMS {
		cfg = sse.NewConfigurationSSEKMS(KMSKeyID)
	}
	if err := m.Client().SetBucketEncryption(context.Background(), bucket, cfg); err != nil {
		m.t.Fatalf("set %s default encryption on %s: %v", e, bucket, err)
	}
}
