package testenv

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// SeaweedFS is one `weed server` running a master, a volume server, a filer and the S3
// gateway in one process, every port on 127.0.0.1, with a data folder of its own.
type SeaweedFS struct{ *process }

var _ Server = (*SeaweedFS)(nil)

// StartSeaweedFS starts a fresh server and stops it when the test ends. The binary is
// `make .tools/bin/weed` (or $WEED_BIN).
func StartSeaweedFS(t testing.TB) *SeaweedFS {
	t.Helper()
	bin := Tool(t, "weed", "WEED_BIN")
	dir := dataDir(t)
	port := func() string { return strconv.Itoa(FreePort(t)) }
	s3 := port()
	conn := Conn{
		Endpoint:  "http://127.0.0.1:" + s3,
		AccessKey: "weedroot" + strconv.Itoa(os.Getpid()),
		SecretKey: "weedsecret-" + strconv.FormatInt(time.Now().UnixNano(), 36),
	}
	args := []string{"server", "-dir=" + dir, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port=" + port(), "-master.port.grpc=" + port(),
		"-volume.port=" + port(), "-volume.port.grpc=" + port(),
		"-filer", "-filer.port=" + port(), "-filer.port.grpc=" + port(),
		"-s3", "-s3.port=" + s3, "-s3.port.grpc=" + port(), "-s3.port.iceberg=0", "-s3.port.lance=0",
		// Each bucket is a collection with volumes of its own: with the default 30 GB
		// volumes and 8 of them, three buckets already ran out of writable volumes.
		"-master.volumeSizeLimitMB=64", "-volume.max=100", "-volume.minFreeSpace=1MiB",
		// No statistics sent anywhere: tests reach nothing beyond loopback.
		"-master.telemetry=false",
	}
	// The gateway takes its admin identity from these.
	env := []string{"AWS_ACCESS_KEY_ID=" + conn.AccessKey, "AWS_SECRET_ACCESS_KEY=" + conn.SecretKey}
	return &SeaweedFS{startProcess(t, "seaweedfs", conn, bin, args, env)}
}
