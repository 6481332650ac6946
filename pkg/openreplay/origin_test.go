package openreplay

import (
	"strings"
	"testing"
)

// TestAssetsOriginGolden holds what OpenReplay's chart renders for ASSETS_ORIGIN and
// openreplay.domainURL (templates/_helpers.tpl, v1.27: "openreplay.domainURL",
// "openreplay.s3Endpoint", "openreplay.assets_origin") for each kind of vars.yaml.
func TestAssetsOriginGolden(t *testing.T) {
	const bundled = "http://minio.db.svc.cluster.local:9000"
	tests := []struct {
		name       string
		global     string // lines under global:, besides s3
		endpoint   string
		wantDomain string
		wantOrigin string
	}{
		{name: "https, the default",
			global: "domainName: or.example.com", endpoint: bundled,
			wantDomain: "https://or.example.com", wantOrigin: "https://or.example.com/sessions-assets"},
		{name: "http when ORSecureAccess is false",
			global: "domainName: or.example.com\nORSecureAccess: false", endpoint: bundled,
			wantDomain: "http://or.example.com", wantOrigin: "http://or.example.com/sessions-assets"},
		{name: "a proxy port",
			global: "domainName: or.example.com\ningress:\n  externalProxyPorts:\n    http: 8080\n    https: 8443", endpoint: bundled,
			wantDomain: "https://or.example.com:8443", wantOrigin: "https://or.example.com:8443/sessions-assets"},
		{name: "a proxy port over http",
			global: "domainName: or.example.com\nORSecureAccess: false\ningress:\n  externalProxyPorts:\n    http: \"8080\"\n    https: 443", endpoint: bundled,
			wantDomain: "http://or.example.com:8080", wantOrigin: "http://or.example.com:8080/sessions-assets"},
		{name: "the controller's own port when there is no proxy",
			global: "domainName: or.example.com\ningress:\n  controller:\n    service:\n      ports:\n        http: 80\n        https: 30443", endpoint: bundled,
			wantDomain: "https://or.example.com:30443", wantOrigin: "https://or.example.com:30443/sessions-assets"},
		{name: "proxy ports of 80 and 443 print no port",
			global: "domainName: or.example.com\ningress:\n  controller:\n    service:\n      ports:\n        https: 30443\n  externalProxyPorts:\n    http: 80\n    https: 443", endpoint: bundled,
			wantDomain: "https://or.example.com", wantOrigin: "https://or.example.com/sessions-assets"},
		{name: "a trailing slash on the endpoint is trimmed",
			global: "domainName: or.example.com", endpoint: "https://s3.example.com/",
			wantDomain: "https://or.example.com", wantOrigin: "https://s3.example.com/sessions-assets"},
		{name: "a trailing slash on assetsOrigin is trimmed",
			global: "domainName: or.example.com\nassetsOrigin: https://cdn.example.com/assets/", endpoint: bundled,
			wantDomain: "https://or.example.com", wantOrigin: "https://cdn.example.com/assets"},
		{name: "explicit assetsOrigin wins over the endpoint",
			global: "domainName: or.example.com\nassetsOrigin: https://cdn.example.com/a", endpoint: "https://s3.example.com",
			wantDomain: "https://or.example.com", wantOrigin: "https://cdn.example.com/a"},
		{name: "an endpoint without minio is used as it is",
			global: "domainName: or.example.com\nORSecureAccess: false", endpoint: "https://storage.googleapis.com",
			wantDomain: "http://or.example.com", wantOrigin: "https://storage.googleapis.com/sessions-assets"},
		{name: "an empty endpoint is AWS",
			global: "domainName: or.example.com", endpoint: "",
			wantDomain: "https://or.example.com", wantOrigin: "https://s3.eu-west-1.amazonaws.com/sessions-assets"},
		{name: "minio anywhere in the endpoint means the domain",
			global: "domainName: or.example.com", endpoint: "https://minio.example.net",
			wantDomain: "https://or.example.com", wantOrigin: "https://or.example.com/sessions-assets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := "global:\n" + indent(tt.global) + "  s3:\n    region: eu-west-1\n    endpoint: \"" + tt.endpoint + "\"\n" +
				"    assetsBucket: sessions-assets\n    accessKey: a\n    secretKey: s\n"
			s, err := ParseStorage([]byte(vars))
			if err != nil {
				t.Fatalf("%v\n%s", err, vars)
			}
			if got := s.DomainURL(); got != tt.wantDomain {
				t.Errorf("domain URL: got %q, want %q", got, tt.wantDomain)
			}
			if got := s.AssetsOriginBefore(); got != tt.wantOrigin {
				t.Errorf("ASSETS_ORIGIN: got %q, want %q", got, tt.wantOrigin)
			}
		})
	}
}

func indent(lines string) string {
	var b strings.Builder
	for _, l := range strings.Split(lines, "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// The shipped file reaches global.ingress through the alias *ingress-nginx, where the
// controller's ports (80, 443) sit.
func TestAssetsOriginBeforeFromFile(t *testing.T) {
	s, err := ParseStorage(readFixture(t, "vars-installed.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.AssetsOriginBefore(), "https://openreplay.example.org/sessions-assets"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestORSecureAccessMustBeABool(t *testing.T) {
	_, err := ParseStorage([]byte("global:\n  ORSecureAccess: \"no\"\n  s3:\n    region: r\n    endpoint: https://e\n"))
	if err == nil || !strings.Contains(err.Error(), "global.ORSecureAccess") {
		t.Fatalf("got %v, want an error naming global.ORSecureAccess", err)
	}
}

func TestCheckDestinationEndpoint(t *testing.T) {
	for _, ok := range []string{"https://s3.example.com", "http://127.0.0.1:9000", "", "https://MinIO.example.com"} {
		if err := CheckDestinationEndpoint(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	err := CheckDestinationEndpoint("https://minio.example.com")
	if err == nil {
		t.Fatal("an endpoint with minio in it was accepted")
	}
	for _, says := range []string{"in-cluster MinIO", "host name without \"minio\"", "global.assetsOrigin does not help"} {
		if !strings.Contains(err.Error(), says) {
			t.Errorf("error lacks %q: %v", says, err)
		}
	}
}
