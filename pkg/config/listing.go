package config

import "fmt"

// Listing is how each bucket is listed: as Ranges key ranges at once, each merge-joined
// on its own (pkg/copy). 1 lists each bucket as one stream; 0 takes the default.
type Listing struct {
	Ranges int `yaml:"ranges"`
}

// MaxRanges bounds listing.ranges: each range is a listing stream per side.
const MaxRanges = 256

func (l Listing) validate() error {
	if l.Ranges < 0 || l.Ranges > MaxRanges {
		return fmt.Errorf("listing.ranges: %d is out of range 1..%d (key ranges listed at once per bucket; 1 lists each bucket as one stream)", l.Ranges, MaxRanges)
	}
	return nil
}
