package main_test

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/internal/seed"
	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// The migrator runs Go code on half the CPUs the runtime would use, as its metrics show
// an operator, unless GOMAXPROCS says otherwise.
func TestThreadsAreHalfTheCPUsUnlessGOMAXPROCSIsSet(t *testing.T) {
	t.Parallel()
	s := newSite(t, seed.Spec{Sessions: 2, Assets: 2, Sourcemaps: 1, Seed: 5}, 2)
	def := runtime.GOMAXPROCS(0) // this test process runs with the runtime's default
	want := max(1, def/2)
	if v := os.Getenv("GOMAXPROCS"); v != "" {
		want, _ = strconv.Atoi(v) // inherited by the migrator, which then keeps it
	}
	for _, c := range []struct {
		name string
		env  []string
		want int
	}{
		{"default", nil, want},
		{"GOMAXPROCS=3", []string{"GOMAXPROCS=3"}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
			cmd, out := s.Command("serve", "--config", s.Config, "--metrics-addr", addr)
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
