package cutover

import (
	"fmt"
	"regexp"
	"strings"
)

// contextLines is how many unchanged lines a hunk shows around its changes, so that the
// operator sees where in vars.yaml each change sits.
const contextLines = 2

// Diff returns the lines that differ between a and b as unified hunks ("@@ -line,count
// +line,count @@", then " ", "-" and "+" lines, with contextLines of context), with the
// values of accessKey and secretKey lines redacted: it is printed.
func Diff(a, b []byte) string {
	x, y := lines(a), lines(b)
	// The edit touches a few lines of global.s3: only the middle needs comparing.
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	ops := append(append([]byte(strings.Repeat("=", pre)), editScript(x[pre:len(x)-suf], y[pre:len(y)-suf])...), strings.Repeat("=", suf)...)
	// One entry per op, with the line numbers (from 0) it stands at in x and y.
	type entry struct {
		op   byte
		text string
		i, j int
	}
	es := make([]entry, 0, len(ops))
	i, j := 0, 0
	for _, op := range ops {
		switch op {
		case '=':
			es = append(es, entry{op, x[i], i, j})
			i, j = i+1, j+1
		case '-':
			es = append(es, entry{op, x[i], i, j})
			i++
		default:
			es = append(es, entry{op, y[j], i, j})
			j++
		}
	}
	var out strings.Builder
	for k := 0; k < len(es); {
		if es[k].op == '=' {
			k++
			continue
		}
		// A hunk: from contextLines before this change to contextLines after the last
		// change that lies within 2*contextLines of the one before it.
		start, end := max(0, k-contextLines), k
		for n := k; n < len(es) && n <= end+2*contextLines; n++ {
			if es[n].op != '=' {
				end = n
			}
		}
		stop := min(len(es), end+contextLines+1)
		var del, add int
		var body strings.Builder
		for _, e := range es[start:stop] {
			prefix := " "
			switch e.op {
			case '=':
				del, add = del+1, add+1
			case '-':
				prefix, del = "-", del+1
			default:
				prefix, add = "+", add+1
			}
			body.WriteString(prefix + redact(e.text) + "\n")
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n%s", es[start].i+1, del, es[start].j+1, add, body.String())
		k = stop
	}
	return out.String()
}

func lines(b []byte) []string {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// editScript returns '=', '-' and '+' operations turning x into y along a longest common
// subsequence. Beyond a size where that costs too much, it replaces x with y whole.
func editScript(x, y []string) []byte {
	n, m := len(x), len(y)
	if n*m > 4<<20 {
		return append([]byte(strings.Repeat("-", n)), strings.Repeat("+", m)...)
	}
	// lcs[i][j] is the LCS length of x[i:] and y[j:].
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []byte
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			ops = append(ops, '=')
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			ops = append(ops, '+')
			j++
		default:
			ops = append(ops, '-')
			i++
		}
	}
	// Within a run of changes, list removals before additions.
	for s := 0; s < len(ops); {
		if ops[s] == '=' {
			s++
			continue
		}
		e := s
		for e < len(ops) && ops[e] != '=' {
			e++
		}
		d := strings.Count(string(ops[s:e]), "-")
		copy(ops[s:], strings.Repeat("-", d)+strings.Repeat("+", e-s-d))
		s = e
	}
	return ops
}

var keyLine = regexp.MustCompile(`^(\s*(?:#\s*)?(?:accessKey|secretKey)\s*:\s*)(\S.*)$`)

// redact hides the value of an accessKey or secretKey line; an alias (*name) or an
// empty value says nothing secret and stays.
func redact(l string) string {
	m := keyLine.FindStringSubmatch(l)
	if m == nil || strings.HasPrefix(m[2], "*") || m[2] == `""` || m[2] == "''" {
		return l
	}
	return m[1] + `"[redacted]"`
}
