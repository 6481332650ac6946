package config_test

import (
	"strings"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
)

// destination.sse is checked before anything is copied, and a mistake is named with
// what to write instead.
func TestSSESettingIsValidated(t *testing.T) {
	const base = `
source: {endpoint: http://minio.db.svc.cluster.local:9000, accessKey: a, secretKey: b}
destination: {endpoint: https://s3.eu-west-1.amazonaws.com, accessKey: c, secretKey: d%s}
buckets: {mobs: openreplay-recordings}
workers: 8
`
	cases := []struct {
		sse, wantErr string
	}{
		{"", ""},
		{", sse: {type: aws:kms, kmsKeyId: arn:aws:kms:eu-west-1:111122223333:key/abcd}", ""},
		{", sse: {type: aws:kms}", ""},
		{", sse: {type: AES256}", ""},
		{", sse: {type: sse-kms, kmsKeyId: k}", `destination.sse.type "sse-kms": want aws:kms`},
		{", sse: {type: SSE-S3}", "for SSE-S3 write AES256"},
		{", sse: {type: SSE-C}", "SSE-C, customer keys, is not supported"},
		{", sse: {type: AES256, kmsKeyId: k}", `kmsKeyId "k" goes with type aws:kms`},
		{", sse: {type: aws:kms, keyId: k}", `unknown setting "destination.sse.keyId"`},
	}
	for _, tc := range cases {
		c, err := config.Parse([]byte(strings.Replace(base, "%s", tc.sse, 1)))
		if err == nil {
			err = c.Validate()
		}
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("sse %q: %v; want no error", tc.sse, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("sse %q: error %v; want one saying %q", tc.sse, err, tc.wantErr)
		}
	}
	c, err := config.Parse([]byte(strings.Replace(base, "endpoint: http://minio", "sse: {type: AES256}, endpoint: http://minio", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "source.sse: the migrator never writes to the source") {
		t.Errorf("source.sse: error %v; want one saying it belongs under destination", err)
	}
}
