package config_test

import (
	"strings"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/config"
)

// notifications: is auto unless turned off; YAML 1.1's reading of "off" as false does
// not get in the way, and anything else is named with the two values it may take.
func TestNotificationsSetting(t *testing.T) {
	const base = `
source: {endpoint: http://minio.db.svc.cluster.local:9000, accessKey: a, secretKey: b}
destination: {endpoint: https://s3.eu-west-1.amazonaws.com, accessKey: c, secretKey: d}
buckets: {mobs: openreplay-recordings}
`
	for _, tc := range []struct{ line, want, wantErr string }{
		{"", "", ""}, // Load makes it auto
		{"notifications: auto", config.NotificationsAuto, ""},
		{"notifications: off", config.NotificationsOff, ""},
		{`notifications: "off"`, config.NotificationsOff, ""},
		{"notifications: on", "", `notifications: "on" is neither auto`},
	} {
		c, err := config.Parse([]byte(base + tc.line + "\n"))
		if err == nil {
			err = c.Validate()
		}
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tc.line, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: error %v; want one saying %q", tc.line, err, tc.wantErr)
		case tc.wantErr == "" && c.Notifications != tc.want:
			t.Errorf("%q: notifications %q; want %q", tc.line, c.Notifications, tc.want)
		}
	}
}
