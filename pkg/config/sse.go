package config

import (
	"errors"
	"fmt"
	"strings"
)

// SSE is destination.sse: the server-side encryption asked for on every object the
// migrator writes (each PUT and CreateMultipartUpload), for buckets whose policy
// demands the header. A bucket's default encryption needs no setting here.
type SSE struct {
	Type     string `yaml:"type"`     // aws:kms or AES256
	KMSKeyID string `yaml:"kmsKeyId"` // with aws:kms; empty: the service's default key
}

// validateSSE says what is wrong with source.sse or destination.sse.
func (c *Config) validateSSE() error {
	if c.Source.SSE != nil {
		return errors.New("source.sse: the migrator never writes to the source; set sse under destination")
	}
	s := c.Destination.SSE
	if s == nil {
		return nil
	}
	switch s.Type {
	case "aws:kms":
		return nil
	case "AES256":
		if s.KMSKeyID != "" {
			return fmt.Errorf("destination.sse: kmsKeyId %q goes with type aws:kms; type AES256 (SSE-S3) uses the service's own keys", s.KMSKeyID)
		}
		return nil
	}
	hint := ""
	switch strings.ToLower(strings.ReplaceAll(s.Type, "_", "-")) {
	case "sse-kms", "kms", "aws-kms":
		hint = " (for SSE-KMS write aws:kms)"
	case "sse-s3", "s3", "aes-256", "aes256":
		hint = " (for SSE-S3 write AES256)"
	case "sse-c":
		hint = " (SSE-C, customer keys, is not supported: every reader would need the key)"
	}
	return fmt.Errorf("destination.sse.type %q: want aws:kms (SSE-KMS, with an optional kmsKeyId) or AES256 (SSE-S3)%s", s.Type, hint)
}
