package assetsroute

import (
	"fmt"
	"regexp"
	"strings"
)

// IngressOptions place the route in an OpenReplay cluster. The zero values are
// OpenReplay's defaults (see Defaults).
type IngressOptions struct {
	Name      string // the Ingress's name
	Namespace string // OpenReplay's namespace, where its frontend Service lives
	Host      string // OpenReplay's domain: global.domainName
	ClassName string // OpenReplay's IngressClass: global.ingress.controller.ingressClassResource.name
	// Service and Port are the backend the path names. NGINX Inc wants one for every
	// path; the redirect answers before anything is proxied, so it only has to exist.
	Service string
	Port    int
}

// Ingress defaults, from OpenReplay's charts: its frontend Service (openreplay-frontend,
// port 8080) and IngressClass (openreplay) in namespace app.
var Defaults = IngressOptions{
	Name:      "openreplay-migrator-assets",
	Namespace: "app",
	ClassName: "openreplay",
	Service:   "openreplay-frontend",
	Port:      8080,
}

var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func (o IngressOptions) withDefaults() IngressOptions {
	d := Defaults
	if o.Name != "" {
		d.Name = o.Name
	}
	if o.Namespace != "" {
		d.Namespace = o.Namespace
	}
	if o.ClassName != "" {
		d.ClassName = o.ClassName
	}
	if o.Service != "" {
		d.Service = o.Service
	}
	if o.Port != 0 {
		d.Port = o.Port
	}
	d.Host = o.Host
	return d
}

// Ingress is the route as a Kubernetes Ingress in the shape of OpenReplay's own `minio`
// Ingress (charts/http/templates/ingress.yaml): an NGINX Inc minion on OpenReplay's
// host, merged into the master Ingress of its frontend chart, path /sessions-assets of
// type Prefix. The controller must allow snippets (OpenReplay's sets enableSnippets).
func (r Route) Ingress(o IngressOptions) (string, error) {
	o = o.withDefaults()
	for what, v := range map[string]string{"host": o.Host, "namespace": o.Namespace, "name": o.Name,
		"ingress class": o.ClassName, "service": o.Service} {
		if !dnsName.MatchString(v) {
			return "", fmt.Errorf("ingress %s %q: want a DNS name (lower-case letters, digits, - and .)", what, v)
		}
	}
	if o.Port < 1 || o.Port > 65535 {
		return "", fmt.Errorf("ingress service port %d: want 1-65535", o.Port)
	}
	var snippet strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(r.Directives(), "\n"), "\n") {
		snippet.WriteString("      " + l + "\n")
	}
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: %s
  namespace: %s
  annotations:
    nginx.org/mergeable-ingress-type: "minion"
    nginx.org/location-snippets: |
%sspec:
  ingressClassName: %s
  rules:
    - host: %s
      http:
        paths:
          - pathType: Prefix
            path: %s
            backend:
              service:
                name: %s
                port:
                  number: %d
`, o.Name, o.Namespace, snippet.String(), o.ClassName, o.Host, r.Path, o.Service, o.Port), nil
}
