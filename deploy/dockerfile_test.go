package deploy

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/internal/testenv"
)

// No Docker engine runs here: the Dockerfile is parsed, and its build command is run as
// written, so what the image would hold is what this test checks.

// instruction is one Dockerfile line, continuations joined.
type instruction struct {
	Op   string // upper case: FROM, RUN, COPY, USER, ENTRYPOINT...
	Args string
	Line int
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, l := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(l)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(trimmed)
		op, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{Op: strings.ToUpper(op), Args: strings.TrimSpace(args), Line: start})
		cur.Reset()
	}
	if cur.Len() != 0 {
		t.Fatalf("%s ends inside a continued line", path)
	}
	return out
}

// stages splits instructions at each FROM.
func stages(ins []instruction) [][]instruction {
	var out [][]instruction
	for _, in := range ins {
		if in.Op == "FROM" {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], in)
		}
	}
	return out
}

// shellWords splits a command as sh would for plain words and "..." or '...' quoting.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case strings.ContainsRune("|&;<>$`(){}", r):
			t.Fatalf("build command %q uses shell syntax (%c) this test does not interpret", s, r)
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unclosed quote in %q", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

func TestDockerfile(t *testing.T) {
	root := testenv.RepoRoot(t)
	st := stages(parseDockerfile(t, filepath.Join(root, "Dockerfile")))
	if len(st) < 2 {
		t.Fatalf("want a multi-stage build (a build stage and a minimal final one), got %d stages", len(st))
	}
	build, final := st[0], st[len(st)-1]

	// The build stage: one RUN with `go build`, static and trimmed.
	var buildCmd []string
	var env []string
	for _, in := range build {
		if in.Op != "RUN" || !strings.Contains(in.Args, "go build") {
			continue
		}
		words := shellWords(t, in.Args)
		for len(words) > 0 && strings.Contains(words[0], "=") {
			env, words = append(env, words[0]), words[1:]
		}
		buildCmd = words
	}
	if len(buildCmd) < 2 || buildCmd[0] != "go" || buildCmd[1] != "build" {
		t.Fatalf("no `RUN ... go build` in the build stage")
	}
	if !containsWord(env, "CGO_ENABLED=0") {
		t.Errorf("go build runs with %v: want CGO_ENABLED=0 (a static binary for a base image without libc)", env)
	}
	if !containsWord(buildCmd, "-trimpath") {
		t.Errorf("go build %v: want -trimpath", buildCmd)
	}
	out := flagAfter(buildCmd, "-o")
	if out == "" {
		t.Fatalf("go build %v names no -o output", buildCmd)
	}

	// The final stage: a minimal base, the binary copied from the build stage, user 65532,
	// the binary as the entrypoint.
	from := strings.Fields(final[0].Args)
	if len(from) == 0 || !(strings.Contains(from[0], "distroless") || from[0] == "scratch") {
		t.Errorf("final stage FROM %q: want a minimal base (distroless or scratch)", final[0].Args)
	}
	var binary, user string
	var entrypoint []string
	for _, in := range final {
		switch in.Op {
		case "COPY":
			f := strings.Fields(in.Args)
			if len(f) == 3 && strings.HasPrefix(f[0], "--from=") && f[1] == out {
				binary = f[2]
			}
		case "USER":
			user = in.Args
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.Args), &entrypoint); err != nil {
				t.Errorf("ENTRYPOINT %s is not the exec (JSON) form: signals would go to a shell, not the migrator", in.Args)
			}
		case "RUN":
			t.Errorf("line %d: RUN in the final stage; it has no shell", in.Line)
		}
	}
	if binary == "" {
		t.Fatalf("the final stage does not COPY the build's %s", out)
	}
	if u, _, _ := strings.Cut(user, ":"); u != "65532" {
		t.Errorf("final USER %q: want 65532 (non-root; the chart runs as 65532 too)", user)
	}
	if len(entrypoint) != 1 || entrypoint[0] != binary {
		t.Errorf("ENTRYPOINT %q: want [%q], so the chart's args are the migrator's", entrypoint, binary)
	}

	// Run the build command as written, into a temporary folder, and check the binary.
	bin := filepath.Join(t.TempDir(), "migrator")
	args := append([]string(nil), buildCmd[1:]...)
	for i := range args {
		if args[i] == "-o" {
			args[i+1] = bin
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s go %s: %v\n%s", strings.Join(env, " "), strings.Join(args, " "), err, b)
	}
	if err := staticELF(bin); err != nil {
		t.Error(err)
	}
	// The binary runs with nothing from the build around it, as in the image.
	run := exec.Command(bin, "help")
	run.Env = []string{}
	if b, err := run.CombinedOutput(); err != nil || !strings.Contains(string(b), "Usage: migrator") {
		t.Errorf("migrator help: %v\n%s", err, b)
	}
}

// staticELF: no program interpreter and no shared library needed, so the binary runs on a
// base image without libc.
func staticELF(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s has a program interpreter: it is dynamically linked", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return err
	}
	if len(libs) != 0 {
		return fmt.Errorf("%s needs shared libraries %v", path, libs)
	}
	if f.Section(".symtab") != nil {
		return fmt.Errorf("%s keeps its symbol table: want -ldflags \"-s -w\"", path)
	}
	return nil
}

func containsWord(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

func flagAfter(words []string, flag string) string {
	for i, w := range words {
		if w == flag && i+1 < len(words) {
			return words[i+1]
		}
	}
	return ""
}

func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	// .tools holds the test servers and helm (hundreds of MB); .git is history. Neither
	// belongs in the build context. go.mod, go.sum and the sources must stay in it.
	for _, must := range []string{".git", ".tools"} {
		if !containsWord(lines, must) {
			t.Errorf(".dockerignore does not exclude %s", must)
		}
	}
	for _, l := range lines {
		for _, keep := range []string{"go.mod", "go.sum", "cmd", "pkg", "internal"} {
			if l == keep || l == keep+"/" || l == "*" {
				t.Errorf(".dockerignore line %q excludes %s, which the build needs", l, keep)
			}
		}
	}
}
