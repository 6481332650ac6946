package cli

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// The printed resolve command survives a shell as the keys were: spaces, quotes, a
// leading dash; it never prints a password put in an endpoint URL; and it stays a
// usable length however many conflicts there are.
func TestResolveHintIsAShellCommandForTheKeys(t *testing.T) {
	c := &common{configPath: "/etc/migrator/my config.yaml", sourceEndpoint: "http://user:TopSecret789@127.0.0.1:9000"}
	keys := []string{"a b/dom.mobs", "it's/devtools.mob", "-dash", "100%/x+y", "ünï/😀"}
	hint := c.resolveHint("mobs", "destination", keys)
	if strings.Contains(hint, "TopSecret789") {
		t.Fatalf("the hint prints the endpoint's password: %s", hint)
	}
	// printf stands in for the migrator: the shell hands it the words the hint holds.
	out, err := exec.Command("sh", "-c", "printf '%s\\n' "+strings.TrimPrefix(hint, "migrator ")).Output()
	if err != nil {
		t.Fatal(err)
	}
	words := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	want := []string{"resolve", "--config", "/etc/migrator/my config.yaml", "--source-endpoint", "http://user:xxxxx@127.0.0.1:9000",
		"--bucket", "mobs", "--keep", "destination", "--", "-dash", "100%/x+y", "a b/dom.mobs", "it's/devtools.mob", "ünï/😀"}
	if fmt.Sprint(words) != fmt.Sprint(want) {
		t.Fatalf("the shell reads %q from\n%s\nwant %q", words, hint, want)
	}
	many := make([]string, 3*maxHintKeys)
	for i := range many {
		many[i] = fmt.Sprintf("%04d/dom.mobs", i)
	}
	if n := strings.Count(c.resolveHint("mobs", "source", many), "/dom.mobs"); n != maxHintKeys {
		t.Fatalf("a hint for %d conflicts names %d keys, want %d", len(many), n, maxHintKeys)
	}
}
