package assetsroute

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Lister is the part of a store a sample is taken from.
type Lister interface {
	List(ctx context.Context, bucket, startAfter string) iter.Seq2[store.Object, error]
}

// Sample is one old asset: the URL recordings hold for it and the object behind it.
type Sample struct {
	URL  string
	Obj  store.Object
	hash string // the body's MD5 the object's ETag promises; "" for a multipart ETag
}

// Samples takes the first n objects of bucket (the assets bucket recordings were made
// with) that keep accepts (nil: all), and builds the URL each has under oldOrigin, as
// OpenReplay's asset rewriter does (backend/pkg/url/assets: the origin's path, then
// the key).
func Samples(ctx context.Context, l Lister, bucket, oldOrigin string, n int, keep func(store.Object) bool) ([]Sample, error) {
	base, err := url.Parse(strings.TrimSuffix(oldOrigin, "/"))
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("old assets origin %q is not a URL: give --domain-url", oldOrigin)
	}
	var out []Sample
	for o, err := range l.List(ctx, bucket, "") {
		if err != nil {
			return nil, fmt.Errorf("list %s for old asset URLs: %w", bucket, err)
		}
		if keep != nil && !keep(o) {
			continue
		}
		u := *base
		u.Path = base.Path + "/" + o.Key
		u.RawPath = ""
		s := Sample{URL: u.String(), Obj: o}
		if !strings.Contains(o.ETag, "-") {
			s.hash = strings.ToLower(o.ETag)
		}
		out = append(out, s)
		if len(out) == n {
			break
		}
	}
	return out, nil
}

// Result is what one old URL answered.
type Result struct {
	Sample
	Status int    // the last response's status; 0 when there was none
	Final  string // where the redirects, if any, ended
	OK     bool   // the body is the object's
	// Problem says why not OK.
	Problem string
}

// maxAssetBytes bounds what a probe reads: CSS and fonts, never a recording.
const maxAssetBytes = 64 << 20

// Client is what Probe asks with when given none: redirects followed as a browser
// follows them, and bodies read as stored. Go would otherwise unpack a gzip
// Content-Encoding, which assets keep as OpenReplay uploaded them.
func Client() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true
	return &http.Client{Transport: t, Timeout: time.Minute}
}

// Probe requests each sample's URL, following redirects as a browser does, and checks
// that the body is the object's bytes. The status alone proves nothing: without a route
// for the path, OpenReplay's frontend answers 200 with its index.html.
func Probe(ctx context.Context, client *http.Client, samples []Sample) []Result {
	if client == nil {
		client = Client()
	}
	out := make([]Result, 0, len(samples))
	for _, s := range samples {
		out = append(out, probeOne(ctx, client, s))
	}
	return out
}

func probeOne(ctx context.Context, client *http.Client, s Sample) Result {
	r := Result{Sample: s, Final: s.URL}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		r.Problem = err.Error()
		return r
	}
	resp, err := client.Do(req)
	if err != nil {
		r.Problem = err.Error()
		return r
	}
	defer resp.Body.Close()
	r.Status, r.Final = resp.StatusCode, resp.Request.URL.String()
	h := md5.New()
	n, err := io.Copy(h, io.LimitReader(resp.Body, maxAssetBytes))
	switch {
	case err != nil:
		r.Problem = fmt.Sprintf("reading the body: %v", err)
	case resp.StatusCode != http.StatusOK:
		r.Problem = "status " + resp.Status
	case n != s.Obj.Size:
		r.Problem = fmt.Sprintf("%d bytes, not the asset's %d (%s): something else answers this path", n, s.Obj.Size, resp.Header.Get("Content-Type"))
	case s.hash != "" && hex.EncodeToString(h.Sum(nil)) != s.hash:
		r.Problem = "other bytes than the asset's: something else answers this path"
	default:
		r.OK = true
	}
	return r
}
