package openreplay

import "testing"

func TestAssetsOriginBefore(t *testing.T) {
	assets := []Bucket{{"recordingsBucket", "mobs"}, {"assetsBucket", "sessions-assets"}}
	tests := []struct {
		name string
		s    Storage
		want string
	}{
		{"explicit assetsOrigin wins", Storage{AssetsOrigin: "https://cdn.example.com/a", Endpoint: "http://minio.db.svc.cluster.local:9000", DomainName: "or.example.com", Buckets: assets}, "https://cdn.example.com/a"},
		{"bundled MinIO goes through the domain", Storage{Endpoint: "http://minio.db.svc.cluster.local:9000", DomainName: "or.example.com", Buckets: assets}, "https://or.example.com/sessions-assets"},
		{"external endpoint", Storage{Endpoint: "https://storage.googleapis.com", Buckets: assets}, "https://storage.googleapis.com/sessions-assets"},
		{"AWS endpoint from an empty one", Storage{Endpoint: awsEndpoint("eu-west-1"), Buckets: []Bucket{{"assetsBucket", "or-assets"}}}, "https://s3.eu-west-1.amazonaws.com/or-assets"},
		{"kept exactly as the chart builds it", Storage{Endpoint: "https://s3.example.com/", Buckets: assets}, "https://s3.example.com//sessions-assets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.AssetsOriginBefore(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAssetsOriginBeforeFromFile(t *testing.T) {
	s, err := ParseStorage(readFixture(t, "vars-installed.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.AssetsOriginBefore(), "https://openreplay.example.org/sessions-assets"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
