package s3

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Reading a ListObjectsV2 answer. A sync with nothing to copy does little else than
// read listings, and encoding/xml, which minio-go reads them with, spent 86% of a
// no-op sync's CPU at 200,000 keys a side (25 us a key). scanListPage reads the few
// fields a listing is for, in one pass over the bytes; an answer it does not expect
// (CDATA, a DOCTYPE, namespace prefixes, anything malformed) is read by encoding/xml.

// listResult is what List needs of one answer.
type listResult struct {
	truncated bool
	next      string // NextContinuationToken
	encoding  string // EncodingType: "url" when keys are URL-encoded
	objects   []store.Object
}

func parseListPage(body []byte) (listResult, error) {
	if p, ok := scanListPage(body); ok {
		return p, nil
	}
	return decodeListPage(body)
}

// decodeListPage reads an answer with encoding/xml.
func decodeListPage(body []byte) (listResult, error) {
	var r struct {
		XMLName               xml.Name `xml:"ListBucketResult"`
		IsTruncated           bool
		NextContinuationToken string
		EncodingType          string
		Contents              []struct {
			Key, ETag    string
			Size         int64
			LastModified time.Time
		}
	}
	if err := xml.Unmarshal(body, &r); err != nil {
		return listResult{}, fmt.Errorf("unreadable listing: %w", err)
	}
	p := listResult{truncated: r.IsTruncated, next: r.NextContinuationToken, encoding: r.EncodingType}
	for _, c := range r.Contents {
		p.objects = append(p.objects, store.Object{Key: c.Key, ETag: c.ETag, Size: c.Size, LastModified: c.LastModified})
	}
	return p, nil
}

// scanListPage reads an answer element by element. ok is false for anything but plain
// elements, text and the five named and numeric character references.
func scanListPage(b []byte) (p listResult, ok bool) {
	if !utf8.Valid(b) {
		return p, false
	}
	var stack [8][]byte
	depth := 0
	var obj store.Object
	textFrom, leaf := 0, false // where the open element's text begins; no child seen
	// end closes the open element, keeping its text if it had no child.
	end := func(text []byte) bool {
		if leaf && !p.take(stack[:depth], text, &obj) {
			return false
		}
		if depth == 2 && string(stack[1]) == "Contents" {
			p.objects = append(p.objects, obj)
		}
		depth--
		leaf = false
		return true
	}
	for i := 0; i < len(b); {
		lt := bytes.IndexByte(b[i:], '<')
		if lt < 0 {
			if len(bytes.TrimSpace(b[i:])) > 0 {
				return p, false
			}
			break
		}
		at := i + lt
		if bytes.IndexByte(b[i:at], '&') >= 0 {
			if _, ok := unescape(b[i:at]); !ok {
				return p, false
			}
		}
		rest := b[at:]
		switch {
		case bytes.HasPrefix(rest, []byte("<?")):
			end := bytes.Index(rest, []byte("?>"))
			if end < 0 || depth > 0 {
				return p, false
			}
			i = at + end + 2
			continue
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			if end < 0 || leaf {
				return p, false // a comment within an element's text: left to encoding/xml
			}
			i = at + 4 + end + 3
			continue
		case bytes.HasPrefix(rest, []byte("<!")):
			return p, false
		}
		gt := bytes.IndexByte(rest, '>')
		if gt < 0 {
			return p, false
		}
		tag := rest[1:gt]
		i = at + gt + 1
		if len(tag) > 0 && tag[0] == '/' {
			name := bytes.TrimSpace(tag[1:])
			if depth == 0 || !bytes.Equal(name, stack[depth-1]) || !end(b[textFrom:at]) {
				return p, false
			}
			continue
		}
		self := len(tag) > 0 && tag[len(tag)-1] == '/'
		if self {
			tag = tag[:len(tag)-1]
		}
		name := tag
		if j := bytes.IndexAny(tag, " \t\r\n"); j >= 0 {
			name = tag[:j]
		}
		// Attributes only on the root (its xmlns), quoted evenly: a '>' inside a quoted
		// value would have cut the tag short.
		attrs := len(name) < len(tag)
		if len(name) == 0 || bytes.IndexByte(name, ':') >= 0 || depth == len(stack) ||
			(depth == 0 && stack[0] != nil) || // a second root, which encoding/xml would not read
			(depth == 0 && string(name) != "ListBucketResult") || (attrs && depth > 0) ||
			bytes.Count(tag, []byte{'"'})%2 != 0 || bytes.Count(tag, []byte{'\''})%2 != 0 {
			return p, false
		}
		stack[depth] = name
		depth++
		if depth == 2 && string(name) == "Contents" {
			obj = store.Object{}
		}
		textFrom, leaf = i, true
		if self && !end(nil) {
			return p, false
		}
	}
	return p, depth == 0 && stack[0] != nil
}

// The leaf elements a listing is read for.
const (
	fieldNone = iota
	fieldTruncated
	fieldNext
	fieldEncoding
	fieldKey
	fieldETag
	fieldSize
	fieldModified
)

// fieldAt names the leaf at path. (A switch on string(b) converts without allocating.)
func fieldAt(path [][]byte) int {
	switch {
	case len(path) == 2:
		switch string(path[1]) {
		case "IsTruncated":
			return fieldTruncated
		case "NextContinuationToken":
			return fieldNext
		case "EncodingType":
			return fieldEncoding
		}
	case len(path) == 3 && string(path[1]) == "Contents":
		switch string(path[2]) {
		case "Key":
			return fieldKey
		case "ETag":
			return fieldETag
		case "Size":
			return fieldSize
		case "LastModified":
			return fieldModified
		}
	}
	return fieldNone
}

// take keeps the text of a leaf element at path, if it is one a listing is read for,
// as encoding/xml reads it: numbers and booleans with spaces trimmed, empty as zero,
// times by time.Time's own UnmarshalText.
func (p *listResult) take(path [][]byte, raw []byte, obj *store.Object) bool {
	field := fieldAt(path)
	if field == fieldNone {
		return true
	}
	var text string // the unescaped text, for the fields kept as strings
	switch field {
	case fieldNext, fieldEncoding, fieldKey, fieldETag:
		var ok bool
		if text, ok = unescape(raw); !ok {
			return false
		}
	default:
		if bytes.IndexByte(raw, '&') >= 0 {
			t, ok := unescape(raw)
			if !ok {
				return false
			}
			raw = []byte(t)
		}
	}
	var err error
	switch field {
	case fieldTruncated:
		p.truncated = false
		if len(raw) > 0 {
			p.truncated, err = strconv.ParseBool(string(bytes.TrimSpace(raw)))
		}
	case fieldNext:
		p.next = text
	case fieldEncoding:
		p.encoding = text
	case fieldKey:
		obj.Key = text
	case fieldETag:
		obj.ETag = text
	case fieldSize:
		obj.Size, err = parseSize(raw)
	case fieldModified:
		err = obj.LastModified.UnmarshalText(raw)
	}
	return err == nil
}

// parseSize reads a size as encoding/xml does, plain digits without an allocation.
func parseSize(raw []byte) (int64, error) {
	if len(raw) == 0 {
		return 0, nil
	}
	if len(raw) < 19 {
		var n int64
		for _, c := range raw {
			if c < '0' || c > '9' {
				return strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
			}
			n = n*10 + int64(c-'0')
		}
		return n, nil
	}
	return strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
}

// unescape replaces XML's character references; ok is false for any it does not know.
func unescape(raw []byte) (string, bool) {
	if bytes.IndexByte(raw, '&') < 0 {
		return string(raw), true
	}
	var out strings.Builder
	out.Grow(len(raw))
	for len(raw) > 0 {
		amp := bytes.IndexByte(raw, '&')
		if amp < 0 {
			out.Write(raw)
			break
		}
		out.Write(raw[:amp])
		raw = raw[amp:]
		semi := bytes.IndexByte(raw, ';')
		if semi < 0 {
			return "", false
		}
		ref := string(raw[1:semi])
		raw = raw[semi+1:]
		switch ref {
		case "lt":
			out.WriteByte('<')
		case "gt":
			out.WriteByte('>')
		case "amp":
			out.WriteByte('&')
		case "apos":
			out.WriteByte('\'')
		case "quot":
			out.WriteByte('"')
		default:
			if len(ref) < 2 || ref[0] != '#' {
				return "", false
			}
			base, digits := 10, ref[1:]
			if digits[0] == 'x' {
				base, digits = 16, digits[1:]
			}
			n, err := strconv.ParseUint(digits, base, 32)
			if err != nil || !utf8.ValidRune(rune(n)) {
				return "", false
			}
			out.WriteRune(rune(n))
		}
	}
	return out.String(), true
}
