package config

import (
	"fmt"
	"strings"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/openreplay"
)

// ApplyOpenReplayVars takes the source from OpenReplay's vars.yaml at path: endpoint and
// region always, keys where none was set explicitly (env, key files, config), and it
// checks that every bucket vars.yaml names has a destination, so no bucket is left
// behind unnoticed.
func (c *Config) ApplyOpenReplayVars(path string) error {
	st, err := openreplay.ReadStorage(path)
	if err != nil {
		return err
	}
	c.Source.SetEndpoint(st.Endpoint, "global.s3.endpoint in "+path)
	if st.Region != "" {
		c.Source.Region = st.Region
	}
	c.Source.setKeys(st.AccessKey, st.SecretKey, "global.s3.accessKey in "+path, "global.s3.secretKey in "+path)
	if (c.Source.AccessKey == "" || c.Source.SecretKey == "") && st.ExistingSecret != "" {
		return fmt.Errorf("%s: global.s3.existingSecret is %q, so the source keys live in that Kubernetes Secret: pass them as %s and %s",
			path, st.ExistingSecret, EnvSourceAccessKey, EnvSourceSecretKey)
	}
	var missing []string
	for _, b := range st.Buckets {
		if _, ok := c.Buckets[b.Name]; !ok {
			missing = append(missing, fmt.Sprintf("%q (global.s3.%s)", b.Name, b.Key))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s names buckets that buckets: does not map: %s; add `NAME: <destination bucket>` for each, or `NAME: \"\"` to leave one behind on purpose",
			path, strings.Join(missing, ", "))
	}
	return nil
}
