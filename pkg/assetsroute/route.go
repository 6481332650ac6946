// Package assetsroute keeps the asset URLs baked into old recordings working after the
// switch: it writes the redirect that sends them to the new assets origin (an nginx
// location block, or an Ingress in OpenReplay's NGINX Inc style) and probes old URLs.
//
// Why a redirect and not a proxy: after a 302 the browser loads each old asset exactly
// as it loads a new recording's, from the new ASSETS_ORIGIN, with that bucket's public
// read, CORS (fonts need it) and Cache-Control. A proxy would add a path new recordings
// never use: the cluster's egress, TLS and Host headers towards an outside store, and an
// ExternalName Service, which NGINX Inc resolves only with a resolver configured.
// Why 302 and not 301: browsers keep a 301 for good, and a cutover can be rolled back or
// the bucket moved again; the short Cache-Control on the 302 saves the round trip within
// an hour instead.
package assetsroute

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Route sends every URL under Path on the OpenReplay domain to the same path under Origin.
type Route struct {
	// Path is the path of the old ASSETS_ORIGIN, e.g. /sessions-assets.
	Path string
	// Origin is the new ASSETS_ORIGIN, e.g. https://s3.us-east-1.amazonaws.com/openreplay-assets.
	Origin string
}

// DefaultPath is where OpenReplay's own Ingress served the assets bucket.
const DefaultPath = "/sessions-assets"

// redirectMaxAge is how long a browser may keep a redirect (see the package comment).
const redirectMaxAge = 3600

var safePath = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

// New checks path and origin and returns the route between them.
func New(path, origin string) (Route, error) {
	path = "/" + strings.Trim(path, "/")
	if !safePath.MatchString(path) {
		return Route{}, fmt.Errorf("assets path %q: want a URL path such as %s (letters, digits, . _ ~ -)", path, DefaultPath)
	}
	origin = strings.TrimSuffix(origin, "/")
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return Route{}, fmt.Errorf("new assets origin %q: want http(s)://host[/path], e.g. https://s3.us-east-1.amazonaws.com/openreplay-assets", origin)
	}
	if u.User != nil {
		return Route{}, fmt.Errorf("new assets origin %s: it holds a user name or key; browsers are sent there, so give the public URL alone", u.Redacted())
	}
	// nginx reads $ and quotes in the return line; a bucket URL never has them.
	if strings.ContainsAny(origin, "$\"'; \\{}") {
		return Route{}, fmt.Errorf("new assets origin %q holds a character nginx would interpret ($ \" ' ; space \\ { })", origin)
	}
	return Route{Path: path, Origin: origin}, nil
}

// Directives are the nginx lines that redirect inside a location for Path: they match
// $request_uri, not $uri, so an old URL reaches the bucket byte for byte (%3F stays %3F,
// the query string stays), and they answer before any proxy_pass of that location.
func (r Route) Directives() string {
	re := "^" + regexp.QuoteMeta(r.Path) + `(/[^?]*)?(\?.*)?$`
	return fmt.Sprintf(`# Recordings made before the switch load their assets from %[1]s/...; those now
# live under %[2]s. A 302 keeps path and query: the browser then loads them as it loads
# new recordings' (that bucket's public read, CORS and caching).
add_header Access-Control-Allow-Origin "*" always;
add_header Cache-Control "public, max-age=%[3]d" always;
if ($request_uri ~ "%[4]s") {
    return 302 %[2]s$1$2;
}
return 404;
`, r.Path, r.Origin, redirectMaxAge, re)
}

// Nginx is a location block for the server block that serves the OpenReplay domain.
func (r Route) Nginx() string {
	var b strings.Builder
	fmt.Fprintf(&b, "location %s/ {\n", r.Path)
	for _, l := range strings.Split(strings.TrimSuffix(r.Directives(), "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	b.WriteString("}\n")
	return b.String()
}
