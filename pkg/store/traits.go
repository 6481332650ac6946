package store

// Traits are what a store does where S3 services differ and the engine must know it:
// the conformance suite (storetest) measures them for every store we test with, and
// the engine starts from such a record where one is given (copy.Options.DestTraits),
// else learns the same per bucket from the store's answers.
type Traits struct {
	// KeepsTags: tags sent with a PUT are kept. Cloudflare R2 refuses x-amz-tagging
	// (NotImplemented); GCS keeps none.
	KeepsTags bool
	// GetBringsTags: a GET brings all of the object's tags (MinIO's extension), so no
	// GetObjectTagging request is needed per tagged object.
	GetBringsTags bool
	// PartETagsAreMD5: UploadPart answers the MD5 of the part as its ETag (not so with
	// SSE-KMS or SSE-C), which then proves the part.
	PartETagsAreMD5 bool
	// MultipartETagsAreS3Style: a completed upload's ETag is the MD5 of its parts' MD5s
	// and "-N", so a copy with the same parts has the source's ETag.
	MultipartETagsAreS3Style bool
	// GetsPartsByNumber: GET ?partNumber=N serves that part and the parts count; else
	// a multipart object is copied in one request.
	GetsPartsByNumber bool
	// FolderKeysKeepHeaders: an empty object under a key ending in "/" keeps its
	// headers and user metadata (versitygw's posix backend makes it a folder and keeps
	// none of them; SeaweedFS keeps only the Content-Type).
	FolderKeysKeepHeaders bool
	// FolderKeysTakeBodies: a key ending in "/" may hold bytes (versitygw refuses them:
	// 400 DirectoryObjectContainsData).
	FolderKeysTakeBodies bool
}
