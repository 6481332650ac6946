package storetest

import "github.com/openreplay-migrator/openreplay-migrator/pkg/store"

// Known are the traits this suite measured on each store the tests start (testenv's
// Kind names them); each store's conformance test fails when its measurement departs
// from the record here, and docs/stores.md shows them. A destination that refuses tags
// ("tagless-proxy", standing in for Cloudflare R2) is MinIO behind a proxy.
var Known = map[string]store.Traits{
	"minio": {KeepsTags: true, GetBringsTags: true, PartETagsAreMD5: true, MultipartETagsAreS3Style: true,
		GetsPartsByNumber: true, FolderKeysKeepHeaders: true, FolderKeysTakeBodies: true},
	"tagless-proxy": {PartETagsAreMD5: true, MultipartETagsAreS3Style: true, GetsPartsByNumber: true,
		FolderKeysKeepHeaders: true, FolderKeysTakeBodies: true},
	"versitygw": {KeepsTags: true, PartETagsAreMD5: true, MultipartETagsAreS3Style: true, GetsPartsByNumber: true},
	"seaweedfs": {KeepsTags: true, PartETagsAreMD5: true, MultipartETagsAreS3Style: true, GetsPartsByNumber: true,
		FolderKeysTakeBodies: true},
}
