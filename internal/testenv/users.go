package testenv

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Keys are temporary credentials limited by a policy.
type Keys struct {
	AccessKey, SecretKey, SessionToken string
}

// Policy is an IAM policy allowing actions on the named buckets and their objects.
func Policy(actions []string, buckets ...string) string {
	var res []string
	for _, b := range buckets {
		res = append(res, "arn:aws:s3:::"+b, "arn:aws:s3:::"+b+"/*")
	}
	p, _ := json.Marshal(map[string]any{
		"Version":   "2012-10-17",
		"Statement": []any{map[string]any{"Effect": "Allow", "Action": actions, "Resource": res}},
	})
	return string(p)
}

// ReadOnly are the actions a read-only key has.
var ReadOnly = []string{"s3:ListBucket", "s3:GetObject", "s3:GetObjectTagging", "s3:GetBucketLocation"}

// GuideWriter are the actions OpenReplay's migration guide grants a destination key:
// enough to copy, not to list or abort multipart uploads. (The guide has seven; MinIO
// has no ACLs and refuses a policy naming s3:GetObjectAcl, so it is left out here.)
var GuideWriter = []string{"s3:PutObject", "s3:GetObject", "s3:GetObjectTagging",
	"s3:ListBucket", "s3:PutObjectTagging", "s3:GetBucketLocation"}

// TempKeys asks the server's STS for keys restricted to policy (the root user's
// rights intersected with it), valid for an hour. MinIO answers "not initialized" for
// a moment after it is ready; that is waited out.
func (m *MinIO) TempKeys(policy string) Keys {
	m.t.Helper()
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		sts := credentials.New(&credentials.STSAssumeRole{
			Client:      &http.Client{Transport: m.transport()},
			STSEndpoint: m.Endpoint,
			Options: credentials.STSAssumeRoleOptions{
				AccessKey: m.AccessKey, SecretKey: m.SecretKey, Policy: policy, DurationSeconds: 3600,
			},
		})
		v, err := sts.GetWithContext(nil)
		if err == nil {
			return Keys{AccessKey: v.AccessKeyID, SecretKey: v.SecretAccessKey, SessionToken: v.SessionToken}
		}
		last = err
		if !strings.Contains(err.Error(), "not initialized") {
			break
		}
	}
	m.t.Fatalf("STS AssumeRole at %s: %v", m, last)
	return Keys{}
}
