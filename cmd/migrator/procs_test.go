package main_test

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// The migrator runs Go code on half the CPUs the runtime would use where both stores
// speak plain HTTP, on all of them where one speaks TLS, as its metrics show an
// operator, unless GOMAXPROCS says otherwise.
func TestThreadsFollowTLSUnlessGOMAXPROCSIsSet(t *testing.T) {
	t.Parallel()
	spec := seed.Spec{Sessions: 2, Assets: 2, Sourcemaps: 1, Seed: 5}
	plain := newSite(t, spec, 2)
	tlsDst := testenv.StartMinIOWith(t, testenv.MinIOOptions{TLS: testenv.SelfSigned(t)})
	secure := newSiteOn(t, spec, 2, tlsDst)
	secureConfig := secure.WriteConfig(strings.Replace(readFile(t, secure.Config), "destination: {endpoint: "+tlsDst.Endpoint,
		"destination: {caFile: "+tlsDst.CAFile+", endpoint: "+tlsDst.Endpoint, 1))
	def := runtime.GOMAXPROCS(0) // this test process runs with the runtime's default
	half, all := max(1, def/2), def
	if v := os.Getenv("GOMAXPROCS"); v != "" {
		half, _ = strconv.Atoi(v) // inherited by the migrator, which then keeps it
		all = half
	}
	for _, c := range []struct {
		name   string
		s      *site
		config string
		env    []string
		want   int
	}{
		{"plain http", plain, plain.Config, nil, half},
		{"destination on TLS", secure, secureConfig, nil, all},
		{"GOMAXPROCS=3", plain, plain.Config, []string{"GOMAXPROCS=3"}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
			cmd, out := c.s.Command("serve", "--config", c.config, "--metrics-addr", addr)
			cmd.Env = slices.Concat(cmd.Env, c.env)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer cmd.Process.Kill()
			testenv.Eventually(t, 60*time.Second, "/healthz", func() bool { return get("http://"+addr+"/healthz") == 200 })
			got := testenv.Sum(testenv.Scrape(t, "http://"+addr+"/metrics"), "go_sched_gomaxprocs_threads")
			if int(got) != c.want {
				t.Errorf("go_sched_gomaxprocs_threads = %v, want %d (runtime default %d)\n%s", got, c.want, def, out)
			}
		})
	}
}
