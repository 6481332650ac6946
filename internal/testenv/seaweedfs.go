package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// SeaweedFS is one `weed server -s3`: a master, a volume server, a filer and the S3
// gateway in one process, with a data folder of its own.
type SeaweedFS struct{ *process }

var _ Server = (*SeaweedFS)(nil)

// StartSeaweedFS starts a fresh SeaweedFS on free loopback ports and stops it when the
// test ends. The binary is `make .tools/bin/weed` (or $WEED_BIN).
func StartSeaweedFS(t testing.TB) *SeaweedFS {
	t.Helper()
	bin := Tool(t, "weed", "WEED_BIN")
	dir := dataDir(t)
	conn := Conn{
		AccessKey: "weedroot" + strconv.Itoa(os.Getpid()),
		SecretKey: "weedsecret-" + strconv.FormatInt(time.Now().UnixNano(), 36),
	}
	// The key goes in the S3 identity file, never in the arguments (ps shows those).
	identities := filepath.Join(dir, "s3.json")
	writeWeedIdentities(t, identities, conn)
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	port := func() string { return strconv.Itoa(FreePort(t)) }
	s3Port := port()
	conn.Endpoint = "http://127.0.0.1:" + s3Port
	grpc := map[string]string{"master": port(), "volume": port(), "filer": port(), "s3": port()}
	// weed also serves each gRPC port on a Unix socket named after it in /tmp, which it
	// leaves behind (and removes before listening there again); cleanups run after the
	// process has stopped.
	t.Cleanup(func() {
		for name, p := range grpc {
			os.Remove(filepath.Join("/tmp", "seaweedfs-"+name+"-grpc-"+p+".sock"))
		}
	})
	args := []string{"server", "-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		// weed takes port+10000 for each gRPC port it is not given, which can be a port
		// another test's server picked: every one is given.
		"-master.port=" + port(), "-master.port.grpc=" + grpc["master"],
		"-volume.port=" + port(), "-volume.port.grpc=" + grpc["volume"],
		"-filer.port=" + port(), "-filer.port.grpc=" + grpc["filer"],
		"-s3", "-s3.port=" + s3Port, "-s3.port.grpc=" + grpc["s3"],
		"-s3.port.iceberg=0", "-s3.port.lance=0", // fixed default ports otherwise
		"-s3.config=" + identities,
		"-filer.localSocket=" + filepath.Join(dir, "filer.sock"), "-s3.localSocket=" + filepath.Join(dir, "s3.sock"),
		"-master.telemetry=false",
		// Every bucket is a collection with volumes of its own; at the default 30 GB and
		// 8 volumes a server ran out of writable volumes by the third bucket.
		"-master.volumeSizeLimitMB=64", "-volume.max=200",
	}
	w := &SeaweedFS{startProcess(t, "seaweedfs", conn, bin, args, nil)}
	w.waitWritable(120 * time.Second)
	return w
}

// writeWeedIdentities writes the S3 identity file giving conn's key every permission.
func writeWeedIdentities(t testing.TB, path string, conn Conn) {
	t.Helper()
	cfg := map[string]any{"identities": []any{map[string]any{
		"name":        "root",
		"credentials": []any{map[string]string{"accessKey": conn.AccessKey, "secretKey": conn.SecretKey}},
		"actions":     []string{"Admin", "Read", "List", "Tagging", "Write"},
	}}}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitWritable waits until a bucket can be made and written: the S3 gateway answers a
// listing before the volume server has registered with the master, and a PUT then
// fails for want of a writable volume. The probe bucket is removed again.
func (w *SeaweedFS) waitWritable(limit time.Duration) {
	w.t.Helper()
	c := w.Client()
	const bucket = "testenv-ready-probe"
	probe := func(ctx context.Context) error {
		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			if ok, _ := c.BucketExists(ctx, bucket); !ok {
				return fmt.Errorf("make bucket: %w", err)
			}
		}
		if _, err := c.PutObject(ctx, bucket, "probe", bytes.NewReader([]byte("ready")), 5, minio.PutObjectOptions{}); err != nil {
			return fmt.Errorf("put: %w", err)
		}
		if err := c.RemoveObject(ctx, bucket, "probe", minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("remove the probe: %w", err)
		}
		return c.RemoveBucket(ctx, bucket)
	}
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		last = probe(ctx)
		cancel()
		if last == nil {
			return
		}
		select {
		case <-w.done:
			log, _ := os.ReadFile(w.log)
			w.t.Fatalf("seaweedfs exited at start: %s", log)
		case <-time.After(200 * time.Millisecond):
		}
	}
	log, _ := os.ReadFile(w.log)
	w.t.Fatalf("seaweedfs at %s takes no writes after %s (last: %v); its log:\n%s", w.conn.Endpoint, limit, last, log)
}
