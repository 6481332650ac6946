package cutover

import (
	"fmt"
	"regexp"
	"strings"
)

// Diff returns the lines that differ between a and b as hunks ("@@ -line,count
// +line,count @@", then "-" and "+" lines), with the values of accessKey and secretKey
// lines redacted: it is printed.
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
	ops := editScript(x[pre:len(x)-suf], y[pre:len(y)-suf])
	var out strings.Builder
	i, j := pre, pre // line indexes in x and y
	for k := 0; k < len(ops); {
		if ops[k] == '=' {
			i, j, k = i+1, j+1, k+1
			continue
		}
		var del, add []string
		si, sj := i, j
		for ; k < len(ops) && ops[k] != '='; k++ {
			if ops[k] == '-' {
				del = append(del, x[i])
				i++
			} else {
				add = append(add, y[j])
				j++
			}
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", si+1, len(del), sj+1, len(add))
		for _, l := range del {
			out.WriteString("-" + redact(l) + "\n")
		}
		for _, l := range add {
			out.WriteString("+" + redact(l) + "\n")
		}
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
