package config

import (
	"fmt"
	"net/url"
	"strings"
)

// hasUserinfo tells whether raw, an endpoint as written (with or without a scheme),
// carries a "user:password@" before its host. It does not use url.Parse, whose errors
// quote the whole URL, password included.
func hasUserinfo(raw string) bool {
	rest := raw
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return strings.Contains(rest, "@")
}

// Redact is raw with any "user:password@" replaced by "[redacted]@", fit to print.
func Redact(raw string) string {
	if !hasUserinfo(raw) {
		return raw
	}
	scheme, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		scheme, rest = raw[:i+3], raw[i+3:]
	}
	host := rest
	tail := ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, tail = rest[:i], rest[i:]
	}
	return scheme + "[redacted]@" + host[strings.LastIndex(host, "@")+1:] + tail
}

// refuseUserinfo is the error for a URL that carries keys. A URL is printed by logs,
// errors, `ps` and OpenReplay's own templates, so keys never ride in one; the message
// names the settings that hold keys instead, and never the password itself.
func refuseUserinfo(setting, from, raw, keysFor string) error {
	where := setting
	if from != "" && from != setting {
		where += " (from " + from + ")"
	}
	msg := fmt.Sprintf("%s %s holds a user name and password: the migrator takes no keys from a URL, since URLs are printed in logs and errors; remove the user:password@ part", where, Redact(raw))
	switch keysFor {
	case "source", "destination":
		env := strings.ToUpper(keysFor)
		msg += fmt.Sprintf(" and give the keys as %s.accessKey and %s.secretKey, %s.accessKeyFile and %s.secretKeyFile, or the environment variables MIGRATOR_%s_ACCESS_KEY and MIGRATOR_%s_SECRET_KEY",
			keysFor, keysFor, keysFor, keysFor, env, env)
	default:
		msg += "; " + keysFor
	}
	return fmt.Errorf("%s", msg)
}

// validateURL checks an endpoint's form: http or https, a host, no user:password@.
func (e *Endpoint) validateURL(side string) error {
	setting := side + ".endpoint"
	if hasUserinfo(e.Endpoint) {
		return refuseUserinfo(setting, e.from.endpoint, e.Endpoint, side)
	}
	where := setting
	if o := e.from.endpoint; o != "" && o != setting {
		where += " (from " + o + ")"
	}
	u, err := url.Parse(e.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s %q: want http://host[:port] or https://host[:port]", where, e.Endpoint)
	}
	return nil
}
