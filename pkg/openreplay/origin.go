package openreplay

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// PublicAccess is how users reach OpenReplay at global.domainName, as OpenReplay's
// "openreplay.domainURL" template reads it.
type PublicAccess struct {
	// Secure is global.ORSecureAccess (the chart's default: true): https, else http.
	Secure bool
	// HTTPPort and HTTPSPort are global.ingress.externalProxyPorts when that is set,
	// else global.ingress.controller.service.ports, else 80 and 443.
	HTTPPort, HTTPSPort string
}

// DomainURL is OpenReplay's openreplay.domainURL: scheme, domain name, and the port
// only when it is not 80 or 443.
func (s *Storage) DomainURL() string {
	scheme, port := "https", s.Access.HTTPSPort
	if !s.Access.Secure {
		scheme, port = "http", s.Access.HTTPPort
	}
	if port == "80" || port == "443" || port == "" {
		return scheme + "://" + s.DomainName
	}
	return scheme + "://" + s.DomainName + ":" + port
}

// AssetsOriginBefore returns the ASSETS_ORIGIN recordings made under these settings
// point at, as OpenReplay's "openreplay.assets_origin" builds it: global.assetsOrigin
// less one trailing "/", else the S3 endpoint (the domain URL when the endpoint contains
// "minio") less one trailing "/", then "/<assetsBucket>".
//
// It has to match the chart to the byte: the sink baked this string into every
// recording made so far, and a route for old replays must match it as written.
func (s *Storage) AssetsOriginBefore() string {
	if s.AssetsOrigin != "" {
		return strings.TrimSuffix(s.AssetsOrigin, "/")
	}
	return strings.TrimSuffix(s.ServiceEndpoint(), "/") + "/" + s.Bucket("assetsBucket")
}

// ServiceEndpoint is the S3 endpoint OpenReplay's services are given
// ("openreplay.s3Endpoint"): an endpoint containing "minio" is taken for the bundled
// store and replaced by the domain URL, whose Ingress routes to it.
func (s *Storage) ServiceEndpoint() string {
	if TakenForBundledMinio(s.Endpoint) {
		return s.DomainURL()
	}
	return s.Endpoint
}

// TakenForBundledMinio reports an endpoint OpenReplay's chart treats as its own
// in-cluster MinIO: it contains "minio" anywhere (case matters, as in the chart).
func TakenForBundledMinio(endpoint string) bool { return strings.Contains(endpoint, "minio") }

// readAccess fills s.Access from global; absent settings take the chart's defaults
// (a missing port, which the chart would render as "<nil>", reads as 80 or 443).
func readAccess(global *yaml.Node, s *Storage) error {
	s.Access = PublicAccess{Secure: true, HTTPPort: "80", HTTPSPort: "443"}
	k, v, err := lookup(global, "ORSecureAccess", "global.ORSecureAccess")
	if err != nil {
		return err
	}
	if r := resolve(v); r != nil && r.Tag != "!!null" {
		if r.Kind != yaml.ScalarNode || r.Tag != "!!bool" {
			return fmt.Errorf("global.ORSecureAccess (line %d) must be true or false (OpenReplay's chart fails on anything else)", k.Line)
		}
		s.Access.Secure = r.Value == "true" || r.Value == "True" || r.Value == "TRUE"
	}
	ingress := mapping(global, "ingress")
	for _, ports := range []*yaml.Node{mapping(mapping(mapping(ingress, "controller"), "service"), "ports"), mapping(ingress, "externalProxyPorts")} {
		for key, dst := range map[string]*string{"http": &s.Access.HTTPPort, "https": &s.Access.HTTPSPort} {
			if r := scalarAt(ports, key); r != nil {
				*dst = r.Value
			}
		}
	}
	return nil
}

// mapping returns the mapping under key in m (aliases followed), or nil.
func mapping(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	_, v, err := lookup(m, key, key)
	if r := resolve(v); err == nil && r != nil && r.Kind == yaml.MappingNode && len(r.Content) > 0 {
		return r
	}
	return nil
}

// scalarAt returns the non-null single value under key in m, or nil.
func scalarAt(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	_, v, err := lookup(m, key, key)
	if r := resolve(v); err == nil && r != nil && r.Kind == yaml.ScalarNode && r.Tag != "!!null" && r.Value != "" {
		return r
	}
	return nil
}

// CheckDestinationEndpoint refuses a destination OpenReplay would take for its bundled
// MinIO (OpenReplay issue 976): its services would be sent to the domain URL instead,
// and an Ingress to a `minio` Service would be rendered in the namespace named by the
// host's second label.
func CheckDestinationEndpoint(endpoint string) error {
	if !TakenForBundledMinio(endpoint) {
		return nil
	}
	return fmt.Errorf("destination endpoint %s contains \"minio\", so OpenReplay's chart would take it for its own in-cluster MinIO: "+
		"every service would be given the OpenReplay domain URL instead of it, and an Ingress to a Service named minio would be rendered. "+
		"Reach the store by a host name without \"minio\" in it (a DNS alias such as s3.example.com, or its IP address) and give that as the endpoint; "+
		"setting global.assetsOrigin does not help, it changes only ASSETS_ORIGIN, not where the services store recordings", endpoint)
}
