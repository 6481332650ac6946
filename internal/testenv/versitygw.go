package testenv

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Versitygw is a versitygw S3 gateway over its posix backend: buckets are folders of a
// data folder of its own, objects files, metadata extended attributes.
type Versitygw struct{ *process }

var _ Server = (*Versitygw)(nil)

// StartVersitygw starts a fresh gateway on a free loopback port and stops it when the
// test ends. The binary is `make .tools/bin/versitygw` (or $VERSITYGW_BIN).
func StartVersitygw(t testing.TB) *Versitygw {
	t.Helper()
	bin := Tool(t, "versitygw", "VERSITYGW_BIN")
	dir := dataDir(t) // tmpfs keeps user extended attributes, which the posix backend needs
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	conn := Conn{
		Endpoint:  "http://" + addr,
		AccessKey: "vgwroot" + strconv.Itoa(os.Getpid()),
		SecretKey: "vgwsecret-" + strconv.FormatInt(time.Now().UnixNano(), 36),
	}
	env := []string{
		"ROOT_ACCESS_KEY_ID=" + conn.AccessKey,
		"ROOT_SECRET_ACCESS_KEY=" + conn.SecretKey,
		"VGW_PORT=" + addr,
		"VGW_REGION=us-east-1",
		"VGW_QUIET=true",
	}
	return &Versitygw{startProcess(t, "versitygw", conn, bin, []string{"posix", root}, env)}
}
