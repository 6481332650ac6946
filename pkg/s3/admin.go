package s3

import (
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/cors"
	"github.com/minio/minio-go/v7/pkg/signer"
	"github.com/minio/minio-go/v7/pkg/tags"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// The calls below are beside store.Store: bucket administration, and single-object calls
// that `migrator preflight` makes to learn what a key may do. The copy never needs them.

// CORSRule is one rule of a bucket's CORS configuration.
type CORSRule struct {
	ID                                             string
	AllowedOrigins, AllowedMethods, AllowedHeaders []string
	ExposeHeaders                                  []string
	MaxAgeSeconds                                  int
}

// LifecycleRule is what preflight reads of one bucket lifecycle rule.
type LifecycleRule struct {
	ID      string
	Enabled bool
	Prefix  string
	// Tags: the rule applies only to objects carrying all of them.
	Tags map[string]string
	// ExpireDays is the rule's expiration in days after creation; 0 for none.
	ExpireDays int
	// AbortIncompleteDays aborts multipart uploads that many days after they started; 0 for none.
	AbortIncompleteDays int
}

// MakeBucket creates bucket in region.
func (c *Client) MakeBucket(ctx context.Context, bucket, region string) error {
	if err := c.core.Client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region}); err != nil {
		return wrap("bucket", bucket, "", err)
	}
	return nil
}

// BucketCORS returns the bucket's CORS rules; none is not an error.
func (c *Client) BucketCORS(ctx context.Context, bucket string) ([]CORSRule, error) {
	cfg, err := c.core.Client.GetBucketCors(ctx, bucket)
	if err != nil {
		return nil, corsError(bucket, err)
	}
	if cfg == nil {
		return nil, nil
	}
	out := make([]CORSRule, len(cfg.CORSRules))
	for i, r := range cfg.CORSRules {
		out[i] = CORSRule{ID: r.ID, AllowedOrigins: r.AllowedOrigin, AllowedMethods: r.AllowedMethod,
			AllowedHeaders: r.AllowedHeader, ExposeHeaders: r.ExposeHeader, MaxAgeSeconds: r.MaxAgeSeconds}
	}
	return out, nil
}

// SetBucketCORS replaces the bucket's CORS rules with rules.
func (c *Client) SetBucketCORS(ctx context.Context, bucket string, rules []CORSRule) error {
	if len(rules) == 0 {
		// minio-go deletes the configuration when given none; nobody asked for that here.
		return errors.New("set CORS: no rule given")
	}
	rs := make([]cors.Rule, len(rules))
	for i, r := range rules {
		rs[i] = cors.Rule{ID: r.ID, AllowedOrigin: r.AllowedOrigins, AllowedMethod: r.AllowedMethods,
			AllowedHeader: r.AllowedHeaders, ExposeHeader: r.ExposeHeaders, MaxAgeSeconds: r.MaxAgeSeconds}
	}
	if err := c.core.Client.SetBucketCors(ctx, bucket, cors.NewConfig(rs)); err != nil {
		return corsError(bucket, err)
	}
	return nil
}

// corsError reports MinIO's bucket CORS calls as NotImplemented whatever they answered:
// MinIO's CORS is server-wide (MINIO_API_CORS_ALLOW_ORIGIN) and its bucket CORS handlers
// are stubs, so even an AccessDenied there says nothing about what could be set.
func corsError(bucket string, err error) error {
	if r := minio.ToErrorResponse(err); r.Server == "MinIO" && r.StatusCode != 0 {
		return wrapCode("cors", bucket, http.StatusNotImplemented, "NotImplemented",
			errors.New("MinIO's CORS is server-wide (MINIO_API_CORS_ALLOW_ORIGIN, default *)"))
	}
	return wrap("cors", bucket, "", err)
}

// wrapCode is a refusal the service answered with status and code.
func wrapCode(op, bucket string, status int, code string, err error) error {
	return &store.Error{Op: op, Bucket: bucket, Status: status, Code: code, Err: err}
}

// BucketPolicy returns the bucket's policy document (JSON), or "" when it has none.
func (c *Client) BucketPolicy(ctx context.Context, bucket string) (string, error) {
	p, err := c.core.Client.GetBucketPolicy(ctx, bucket)
	if err != nil {
		return "", wrap("policy", bucket, "", err)
	}
	return p, nil
}

// SetBucketPolicy replaces the bucket's policy with the JSON document policy.
func (c *Client) SetBucketPolicy(ctx context.Context, bucket, policy string) error {
	if strings.TrimSpace(policy) == "" {
		// minio-go deletes the policy when given an empty one.
		return errors.New("set bucket policy: empty policy")
	}
	if err := c.core.Client.SetBucketPolicy(ctx, bucket, policy); err != nil {
		return wrap("policy", bucket, "", err)
	}
	return nil
}

// PutTags replaces the object's tags.
func (c *Client) PutTags(ctx context.Context, bucket, key string, t map[string]string) error {
	tt, err := tags.NewTags(t, true)
	if err != nil {
		return fmt.Errorf("tags for %s/%s: %w", bucket, key, err)
	}
	if err := c.core.Client.PutObjectTagging(ctx, bucket, key, tt, minio.PutObjectTaggingOptions{}); err != nil {
		return wrap("tag", bucket, key, err)
	}
	return nil
}

// ObjectACL reads the object's ACL (GET ?acl) and discards it: only whether the key may
// read it matters here.
func (c *Client) ObjectACL(ctx context.Context, bucket, key string) error {
	if _, err := c.core.Client.GetObjectACL(ctx, bucket, key); err != nil {
		return wrap("acl", bucket, key, err)
	}
	return nil
}

// Remove deletes one object; deleting a missing one is not an error.
func (c *Client) Remove(ctx context.Context, bucket, key string) error {
	if err := c.core.Client.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return wrap("delete", bucket, key, err)
	}
	return nil
}

// BucketLocation asks the service where the bucket is (GET ?location). It signs the
// request itself: minio-go's GetBucketLocation answers the configured region without
// asking, and turns an AccessDenied into "us-east-1", so it can prove neither the
// region nor the s3:GetBucketLocation permission.
func (c *Client) BucketLocation(ctx context.Context, bucket string) (string, error) {
	resp, err := c.signedBucketGet(ctx, "bucket", bucket, "location=")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("location of %s: %w", bucket, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", answerError("bucket", bucket, resp, body)
	}
	var loc string
	if err := xml.Unmarshal(body, &loc); err != nil {
		return "", fmt.Errorf("location of %s: unreadable answer: %w", bucket, err)
	}
	switch loc = strings.TrimSpace(loc); loc {
	case "":
		return "us-east-1", nil // S3's name for its first region
	case "EU":
		return "eu-west-1", nil
	}
	return loc, nil
}

// emptySHA256 is the SHA-256 of an empty body, which signed GETs declare.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// signedBucketGet sends GET /bucket/?query signed with the client's keys, for the calls
// minio-go answers without asking the service (the bucket's location) or cannot say
// whether a stream is open (notifications). A request that got no answer is a
// store.Error with Status 0, so ClassOf reads it like any other.
func (c *Client) signedBucketGet(ctx context.Context, op, bucket, query string) (*http.Response, error) {
	u := *c.core.Client.EndpointURL()
	u.Path = "/" + bucket + "/"
	u.RawPath = "/" + url.PathEscape(bucket) + "/"
	u.RawQuery = query
	return c.signedGet(ctx, op, bucket, u, cmp.Or(c.region, "us-east-1"))
}

// signedGet sends GET u, signed with the client's keys for region (not signed with no
// keys, as minio-go does).
func (c *Client) signedGet(ctx context.Context, op, bucket string, u url.URL, region string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, bucket, err)
	}
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	mc := c.core.Client
	creds, err := mc.GetCreds()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, bucket, err)
	}
	if creds.AccessKeyID != "" {
		req = signer.SignV4(*req, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, region)
	}
	resp, err := mc.CredContext().Client.Do(req)
	if err != nil {
		return nil, &store.Error{Op: op, Bucket: bucket, Err: err}
	}
	return resp, nil
}

// answerError is a service's error answer as a store.Error: its Code and Message, or
// the HTTP status where the body has none.
func answerError(op, bucket string, resp *http.Response, body []byte) error {
	var e struct{ Code, Message string }
	_ = xml.Unmarshal(body, &e)
	if e.Message == "" {
		e.Message = resp.Status
	}
	return wrapCode(op, bucket, resp.StatusCode, e.Code, errors.New(e.Message))
}
