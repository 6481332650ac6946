package copy

import (
	"iter"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Kind is what the merge-join decided for one source object.
type Kind int

const (
	// ActCopy: the destination lacks the object, or holds an older different one.
	ActCopy Kind = iota
	// ActSkip: the destination holds the same object (equal size and ETag).
	ActSkip
	// ActConflict: the destination holds a different object written after the source's;
	// someone else wrote it, so it is reported and left alone.
	ActConflict
)

func (k Kind) String() string {
	return [...]string{"copy", "skip", "conflict"}[k]
}

// Action is one source object and what to do with it.
type Action struct {
	Kind   Kind
	Src    store.Object
	Dst    store.Object // valid when HasDst
	HasDst bool
}

// SameFunc tells whether a destination object already is the source object.
type SameFunc func(src, dst store.Object) bool

// SameByListing is the rule that costs no request: equal size and equal ETag.
func SameByListing(src, dst store.Object) bool {
	return src.Size == dst.Size && src.ETag == dst.ETag
}

// Decide compares one source object with the destination object of the same key.
func Decide(src store.Object, dst *store.Object, same SameFunc) Action {
	if dst == nil {
		return Action{Kind: ActCopy, Src: src}
	}
	a := Action{Src: src, Dst: *dst, HasDst: true}
	switch {
	case same(src, *dst):
		a.Kind = ActSkip
	case dst.LastModified.After(src.LastModified):
		a.Kind = ActConflict
	default:
		a.Kind = ActCopy
	}
	return a
}

// Join walks both listings in key order, in constant memory, and calls onSource for every
// source object and onExtra (if not nil) for every key only the destination has.
// Both listings must be in ascending byte order of key, as S3 returns them.
func Join(src, dst iter.Seq2[store.Object, error], same SameFunc,
	onSource func(Action) error, onExtra func(store.Object) error) error {
	next, stop := iter.Pull2(dst)
	defer stop()
	var (
		d     store.Object
		haveD bool
	)
	advance := func() error {
		o, err, ok := next()
		if err != nil {
			return err
		}
		d, haveD = o, ok
		return nil
	}
	if err := advance(); err != nil {
		return err
	}
	for s, err := range src {
		if err != nil {
			return err
		}
		for haveD && d.Key < s.Key {
			if onExtra != nil {
				if err := onExtra(d); err != nil {
					return err
				}
			}
			if err := advance(); err != nil {
				return err
			}
		}
		var match *store.Object
		if haveD && d.Key == s.Key {
			m := d
			match = &m
			if err := advance(); err != nil {
				return err
			}
		}
		if err := onSource(Decide(s, match, same)); err != nil {
			return err
		}
	}
	for haveD && onExtra != nil {
		if err := onExtra(d); err != nil {
			return err
		}
		if err := advance(); err != nil {
			return err
		}
	}
	return nil
}
