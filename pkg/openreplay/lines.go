package openreplay

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// lineIndex maps yaml.v3 node positions (1-based line, 1-based column counted
// in characters) to byte offsets, so an edit can touch exactly one token.
type lineIndex struct {
	data  []byte
	start []int // start[i]: byte offset where line i+1 begins
	end   []int // end[i]: byte offset where line i+1's text stops, before its line break
}

// breakLen returns the length of the line break at data[i], or 0. It follows
// yaml.v3's idea of a line break (CRLF, CR, LF, NEL, LS, PS) because node
// line numbers are counted that way; splitting on "\n" alone would drift.
func breakLen(data []byte, i int) int {
	switch {
	case data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n':
		return 2
	case data[i] == '\r' || data[i] == '\n':
		return 1
	case data[i] == 0xC2 && i+1 < len(data) && data[i+1] == 0x85:
		return 2
	case data[i] == 0xE2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xA8 || data[i+2] == 0xA9):
		return 3
	}
	return 0
}

func indexLines(data []byte) *lineIndex {
	ix := &lineIndex{data: data}
	lineStart := 0
	for i := 0; i < len(data); {
		n := breakLen(data, i)
		if n == 0 {
			i++ // break bytes are ASCII or UTF-8 lead bytes, so byte steps cannot land mid-break
			continue
		}
		ix.start = append(ix.start, lineStart)
		ix.end = append(ix.end, i)
		i += n
		lineStart = i
	}
	ix.start = append(ix.start, lineStart)
	ix.end = append(ix.end, len(data))
	return ix
}

func (ix *lineIndex) lines() int { return len(ix.start) }

// lineEnd returns the offset where line's content stops.
func (ix *lineIndex) lineEnd(line int) int { return ix.end[line-1] }

// lineBreak returns line's break bytes, empty for a last line without one.
func (ix *lineIndex) lineBreak(line int) []byte {
	if line >= ix.lines() {
		return nil
	}
	return ix.data[ix.end[line-1]:ix.start[line]]
}

// defaultBreak is the break new lines get when no neighbour has one: the file's first.
func (ix *lineIndex) defaultBreak() []byte {
	if ix.lines() > 1 {
		return ix.lineBreak(1)
	}
	return []byte("\n")
}

// offset converts a node position to a byte offset; the column may point just past the line's text.
func (ix *lineIndex) offset(line, col int) (int, error) {
	if line < 1 || line > ix.lines() || col < 1 {
		return 0, fmt.Errorf("position %d:%d is outside the file", line, col)
	}
	off, end := ix.start[line-1], ix.end[line-1]
	if line == 1 && bytes.HasPrefix(ix.data, []byte("\uFEFF")) {
		off += 3 // yaml.v3 does not count a byte-order mark as a column
	}
	for c := 1; c < col; c++ {
		if off >= end {
			return 0, fmt.Errorf("position %d:%d is past the end of its line", line, col)
		}
		_, w := utf8.DecodeRune(ix.data[off:end])
		off += w
	}
	return off, nil
}

// indent returns the whitespace before the node at line:col, failing when
// anything else precedes it (e.g. "? " or "- "), since a new sibling line
// copies that indentation.
func (ix *lineIndex) indent(line, col int) ([]byte, error) {
	off, err := ix.offset(line, col)
	if err != nil {
		return nil, err
	}
	prefix := ix.data[ix.start[line-1]:off]
	if len(bytes.Trim(prefix, " ")) != 0 {
		return nil, fmt.Errorf("line %d does not start with the key", line)
	}
	return prefix, nil
}

// splice is one change: replace data[start:end] with text. Insertions have start == end.
type splice struct {
	start, end int
	text       string
	order      int // keeps insertions at the same offset in request order
}

// applySplices builds the edited file; everything outside the splices is copied byte for byte.
func applySplices(data []byte, edits []splice) ([]byte, error) {
	sorted := append([]splice(nil), edits...)
	for i := 1; i < len(sorted); i++ { // insertion sort: a handful of edits, stable
		for j := i; j > 0 && less(sorted[j], sorted[j-1]); j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	var out bytes.Buffer
	pos := 0
	for _, e := range sorted {
		if e.start < pos || e.end < e.start || e.end > len(data) {
			return nil, fmt.Errorf("internal error: overlapping edits at byte %d", e.start)
		}
		out.Write(data[pos:e.start])
		out.WriteString(e.text)
		pos = e.end
	}
	out.Write(data[pos:])
	return out.Bytes(), nil
}

func less(a, b splice) bool {
	if a.start != b.start {
		return a.start < b.start
	}
	if (a.start == a.end) != (b.start == b.end) {
		return a.start == a.end // insertions before a replacement starting at the same byte
	}
	return a.order < b.order
}
