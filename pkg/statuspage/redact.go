package statuspage

import "regexp"

// Errors from the HTTP stack quote URLs, and a signing error may quote a header: an
// endpoint written as http://key:secret@host, a presigned query or an Authorization
// value would put a credential on a page anyone on the network can open.
var secretPatterns = []struct {
	re   *regexp.Regexp
	with string
}{
	// userinfo in a URL
	{regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/\s@"']+@`), "${1}REDACTED@"},
	// SigV4 and SigV2 query parameters, and the parts of an Authorization header
	{regexp.MustCompile(`(?i)\b(X-Amz-Credential|X-Amz-Signature|X-Amz-Security-Token|AWSAccessKeyId|Signature|Credential)=[^&\s,;:"')]+`), "${1}=REDACTED"},
}

// scrub returns s without the credentials an error message may carry.
func scrub(s string) string {
	for _, p := range secretPatterns {
		s = p.re.ReplaceAllString(s, p.with)
	}
	return s
}
