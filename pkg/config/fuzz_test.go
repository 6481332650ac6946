package config

import (
	"fmt"
	"strings"
	"testing"
)

var configSeeds = []string{
	"",
	"source:      {endpoint: http://minio.db.svc.cluster.local:9000, region: us-east-1}\ndestination: {endpoint: https://s3.us-east-1.amazonaws.com, region: us-east-1}\nbuckets:     {mobs: openreplay-recordings, sessions-assets: openreplay-assets, sourcemaps: \"\"}\nworkers: 32\nstateDir: /var/lib/openreplay-migrator\nallowInsecure: false\ngracePeriod: 30s\n",
	"source:\n  endpoint: http://a:9000\n  accessKey: AKIAFUZZ\n  secretKey: \"s3cr3t\\\"'#\"\n  sessionToken: tok\n  stallTimeout: 2m\ndestination:\n  endpoint: https://b\n  caFile: /etc/ca.pem\n",
	"workers: [2\n",
	"wrokers: 2\n",
	"buckets: {\"\": x}\nworkers: 0\ngracePeriod: -1s\n",
	"source: &s {endpoint: http://x}\ndestination: *s\nschedule: \"*/5 * * * *\"\n",
	"--- \n...\n",
}

// FuzzParse: any file parses or fails with a "config:" error, never a panic; what parses
// validates without a panic; and printing the configuration, however it is formatted,
// never shows a secret (the same text comes out whatever the secrets are).
func FuzzParse(f *testing.F) {
	for _, s := range configSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config: ") {
				t.Fatalf("error without the config: prefix: %v", err)
			}
			return
		}
		c.applyDefaults()
		verr := c.Validate()
		printed := printAll(c)
		for _, e := range []*Endpoint{&c.Source, &c.Destination} {
			e.AccessKey, e.SecretKey, e.SessionToken = "other-a", "other-s", "other-t"
		}
		if again := printAll(c); again != printed {
			t.Fatalf("a secret shows when the configuration is printed:\n%s\n---\n%s", printed, again)
		}
		if verr != nil && strings.Contains(verr.Error(), "other-") {
			t.Fatalf("a secret shows in the validation error: %v", verr)
		}
	})
}

func printAll(c *Config) string {
	return fmt.Sprintf("%v|%+v|%#v|%s", c, c, c, c.Source.SecretKey)
}
