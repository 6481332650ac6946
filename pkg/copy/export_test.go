package copy

// The tests' buckets hold thousands of keys, not millions: split them as a large one
// would be, at a range per 100 keys the last pass listed.
func init() { keysPerRange = 100 }
