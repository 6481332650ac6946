package testenv

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Nginx is Debian's nginx on a loopback port, serving one server block a test writes:
// the stand-in for the web server or Ingress controller in front of OpenReplay.
type Nginx struct {
	URL  string // http://127.0.0.1:PORT
	Port int
	// Conf is the file holding the server block's body; Reload reads it again.
	Conf string

	t   testing.TB
	dir string
	cmd *exec.Cmd
}

// NginxBinary returns Debian's nginx, or skips the test saying how to get it; with
// E2E_REQUIRED=1 (`make e2e`, CI) it fails instead.
func NginxBinary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("NGINX_BIN"), "/usr/sbin/nginx"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("E2E_REQUIRED") == "1" {
		t.Fatal("nginx not found at /usr/sbin/nginx and E2E_REQUIRED=1: install Debian's nginx-light package (`make e2e` does)")
	}
	t.Skip("nginx not found at /usr/sbin/nginx: `make e2e` installs Debian's nginx-light and runs this test")
	return ""
}

// StartNginx starts nginx with server, the inside of a server block (locations, root),
// and stops it when the test ends.
func StartNginx(t testing.TB, server string) *Nginx {
	t.Helper()
	bin := NginxBinary(t)
	n := &Nginx{t: t, dir: t.TempDir(), Port: FreePort(t)}
	n.URL = fmt.Sprintf("http://127.0.0.1:%d", n.Port)
	n.Conf = filepath.Join(n.dir, "server.conf")
	n.SetServer(server)
	// As root, nginx's workers would run as nobody, who cannot read the test's folders.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root root;"
	}
	main := fmt.Sprintf(`daemon off;
%[4]s
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    server {
        listen 127.0.0.1:%[2]d;
        include %[3]s;
    }
}
`, n.dir, n.Port, n.Conf, user)
	conf := filepath.Join(n.dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", n.dir, "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, server)
	}
	n.cmd = exec.Command(bin, "-p", n.dir, "-c", conf)
	n.cmd.Stdout, n.cmd.Stderr = os.Stderr, os.Stderr
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { n.cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-done
		}
	})
	Eventually(t, 30*time.Second, "nginx to listen on "+n.URL, func() bool {
		resp, err := http.Get(n.URL + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return n
}

// SetServer writes the server block's body; nginx reads it at start or on Reload.
func (n *Nginx) SetServer(server string) {
	n.t.Helper()
	if err := os.WriteFile(n.Conf, []byte(server), 0o644); err != nil {
		n.t.Fatal(err)
	}
}

// PID is the master process, for a reinstall stand-in that reloads it (kill -HUP).
func (n *Nginx) PID() string { return strconv.Itoa(n.cmd.Process.Pid) }

// ErrorLog is what nginx logged, for a failing test's message.
func (n *Nginx) ErrorLog() string {
	data, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
	return strings.TrimSpace(string(data))
}
