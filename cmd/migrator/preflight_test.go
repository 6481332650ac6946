package main_test

import (
	"context"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// preflightGuideOnMinIO is the guide's seven permissions as MinIO grants them: it
// rejects s3:GetObjectAcl in a policy and authorises GET ?acl with s3:GetBucketPolicy.
var preflightGuideOnMinIO = []string{"s3:PutObject", "s3:GetObject", "s3:GetBucketPolicy", "s3:GetObjectTagging",
	"s3:ListBucket", "s3:PutObjectTagging", "s3:GetBucketLocation"}

// preflightRow reports whether the table has a row check with status.
func preflightRow(out, check, status string) bool {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(check) + ` +` + regexp.QuoteMeta(status) + `( !)? `).MatchString(out)
}

// usePreflightKeys replaces the destination key in the migrator's environment.
func (s *site) usePreflightKeys(k testenv.Keys) {
	s.Env = slices.DeleteFunc(s.Env, func(kv string) bool { return strings.HasPrefix(kv, "MIGRATOR_DESTINATION_") })
	s.Env = append(s.Env, "MIGRATOR_DESTINATION_ACCESS_KEY="+k.AccessKey, "MIGRATOR_DESTINATION_SECRET_KEY="+k.SecretKey)
	if k.SessionToken != "" {
		s.Env = append(s.Env, "MIGRATOR_DESTINATION_SESSION_TOKEN="+k.SessionToken)
	}
}

func TestPreflightCommand(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 2, Assets: 2, Sourcemaps: 1, Seed: 9}, 4)
	dests := []string{"openreplay-recordings", "openreplay-assets", "openreplay-sourcemaps"}

	// The root key fixes what it can: public read on the assets bucket.
	code, out := s.Run("preflight", "--config", s.Config)
	t.Logf("root key:\n%s", out)
	if code != 0 || !preflightRow(out, "public read openreplay-assets", "fixed") || !preflightRow(out, "s3:DeleteObject", "granted") {
		t.Fatalf("preflight with the root key exited %d", code)
	}

	// A key with the guide's permissions only, temporary (STS) like a restricted
	// user's, its session token given in the environment.
	if err := s.Dst.Client().SetBucketPolicy(context.Background(), "openreplay-assets", ""); err != nil {
		t.Fatal(err)
	}
	s.usePreflightKeys(s.Dst.TempKeys(testenv.Policy(preflightGuideOnMinIO, dests...)))
	code, out = s.Run("preflight", "--config", s.Config)
	t.Logf("the guide's permissions:\n%s", out)
	if code != 0 {
		t.Fatalf("preflight with the guide's permissions exited %d", code)
	}
	for _, p := range []string{"s3:PutObject", "s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectTagging",
		"s3:PutObjectTagging", "s3:ListBucket", "s3:GetBucketLocation"} {
		if !preflightRow(out, p, "granted") {
			t.Errorf("%s is not reported granted", p)
		}
	}
	for check, status := range map[string]string{
		"s3:DeleteObject": "denied", "s3:AbortMultipartUpload": "denied",
		"public read openreplay-assets": "cannot fix", "CORS openreplay-assets": "n/a", "bucket openreplay-recordings": "ok",
	} {
		if !preflightRow(out, check, status) {
			t.Errorf("no row %q %q", check, status)
		}
	}

	// Without s3:PutObject the copy cannot run: exit 1.
	s.usePreflightKeys(s.Dst.TempKeys(testenv.Policy([]string{"s3:ListBucket", "s3:GetObject"}, dests...)))
	if code, out := s.Run("preflight", "--config", s.Config); code != 1 || !preflightRow(out, "s3:PutObject", "denied") {
		t.Fatalf("preflight with a read-only key exited %d:\n%s", code, out)
	}

	// A wrong secret is a configuration error naming the setting.
	s.usePreflightKeys(testenv.Keys{AccessKey: s.Dst.AccessKey, SecretKey: "wrong-secret-key"})
	code, out = s.Run("preflight", "--config", s.Config)
	if code != 2 || !strings.Contains(out, "destination.secretKey") || strings.Contains(out, "wrong-secret-key") {
		t.Fatalf("preflight with a wrong secret exited %d:\n%s", code, out)
	}
}

// A destination that accepts connections and then says nothing: preflight gives up on
// it after the configured stallTimeout, as the copy does, and names the destination.
// (Its client once went without stallTimeout and waited the 2-minute default on each
// of its attempts.) The silent peer is a listener in the test that reads and never answers.
func TestPreflightHonoursStallTimeout(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 1, Seed: 10}, 2)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	t.Cleanup(func() { l.Close(); held.Wait() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held.Add(1)
			go func() { defer held.Done(); io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	silent := "http://" + l.Addr().String()
	config := s.WriteConfig(strings.Replace(readFile(t, s.Config), "destination: {endpoint: "+s.Dst.Endpoint+", region: us-east-1}",
		"destination: {endpoint: "+silent+", region: us-east-1, stallTimeout: 1s}", 1))
	code, out := s.runBounded("preflight", "--config", config)
	if code == 0 || !strings.Contains(out, "destination") {
		t.Fatalf("preflight against a silent destination exited %d; want a failure naming the destination:\n%s", code, out)
	}
}
