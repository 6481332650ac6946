package preflight

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
)

func (c *checker) endpoint() {
	u, err := url.Parse(c.o.Endpoint)
	switch {
	case err != nil:
		c.add(Row{Check: "destination endpoint", Status: Missing, Blocking: true,
			Do: fmt.Sprintf("destination.endpoint %q is not a URL", c.o.Endpoint)})
		return
	case u.Scheme != "https":
		c.add(Row{Check: "destination endpoint", Status: Warn,
			Do: "plain http: keys and recordings cross the network unencrypted; use an https endpoint"})
	default:
		c.add(Row{Check: "destination endpoint", Status: OK, Do: "https"})
	}
	if err := openreplay.CheckDestinationEndpoint(c.o.Endpoint); err != nil {
		c.add(Row{Check: "endpoint for OpenReplay", Status: Missing, Blocking: true, Do: err.Error()})
	}
	if isGCS(u.Host) {
		c.add(Row{Check: "object tagging", Status: Warn,
			Do: "Google Cloud Storage keeps no object tags: OpenReplay's retention tags are lost there; expire objects by age with a GCS lifecycle rule instead"})
	}
}

func isGCS(host string) bool {
	return host == "storage.googleapis.com" || strings.HasSuffix(host, ".storage.googleapis.com")
}

// region compares the bucket's location with the configured region; the call is also
// the s3:GetBucketLocation probe.
func (c *checker) region(ctx context.Context, b Bucket) error {
	check := "region " + b.Dest
	var loc string
	err := c.call(ctx, func(ctx context.Context) (err error) { loc, err = c.dst.BucketLocation(ctx, b.Dest); return err })
	if f := fatal("destination", b.Dest, err); f != nil {
		return f
	}
	c.probes["s3:GetBucketLocation"] = append(c.probes["s3:GetBucketLocation"], outcome{bucket: b.Dest, err: err})
	switch {
	case err != nil:
		c.add(Row{Check: check, Status: Unknown, Do: "the bucket's location could not be read (" + brief(err) + ")"})
	case loc != c.o.Region:
		c.add(Row{Check: check, Status: Warn,
			Do: fmt.Sprintf("the bucket is in %s, the configuration says %s: set destination.region: %s", loc, c.o.Region, loc)})
	default:
		c.add(Row{Check: check, Status: OK, Do: loc})
	}
	return nil
}
