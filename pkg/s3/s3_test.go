package s3_test

import (
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/s3"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store/storetest"
)

func TestConformanceOnMinIO(t *testing.T) {
	m := testenv.StartMinIO(t)
	m.MakeBuckets("conformance")
	c, err := s3.New(s3.Options{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, c, "conformance")
}

func TestEndpointIsChecked(t *testing.T) {
	for _, e := range []string{"", "minio:9000", "ftp://host", "http://host/bucket"} {
		if _, err := s3.New(s3.Options{Endpoint: e}); err == nil {
			t.Errorf("endpoint %q accepted", e)
		}
	}
}
