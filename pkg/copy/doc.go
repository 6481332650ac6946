// Package copy moves every object of source buckets to destination buckets: a merge-join
// of the two sorted listings decides what to copy, a worker pool copies with checksums,
// and a watermark checkpoint lets a restart resume where the last run stopped.
package copy
