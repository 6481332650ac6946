package openreplay

import "strings"

// AssetsOriginBefore returns the ASSETS_ORIGIN recordings made before the
// switch point at: global.assetsOrigin, else https://<domainName>/<assetsBucket>
// when the endpoint contains "minio", else <endpoint>/<assetsBucket>.
//
// It mirrors OpenReplay's chart templates exactly (no slash trimming), because
// the sink baked this string into every recording made so far and a redirect
// has to match it as written.
func (s *Storage) AssetsOriginBefore() string {
	if s.AssetsOrigin != "" {
		return s.AssetsOrigin
	}
	bucket := s.Bucket("assetsBucket")
	if strings.Contains(s.Endpoint, "minio") {
		return "https://" + s.DomainName + "/" + bucket
	}
	return s.Endpoint + "/" + bucket
}
