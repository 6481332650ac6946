package preflight

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/retry"
	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// patience for each call unless the config's retry says otherwise (Options.Retry): a
// busy service's 503 or a dropped connection is not an answer about permissions.
var patience = retry.Policy{Attempts: 4, Base: 200 * time.Millisecond, Max: 3 * time.Second}

// call runs fn, again on a passing failure. NotImplemented is an answer (MinIO's bucket
// CORS), not a failure to wait out, even though its status is 5xx. Preflight's clients
// have no retry layer of their own: this is the only one.
func (c *checker) call(ctx context.Context, fn func(context.Context) error) error {
	p := patience
	if c.o.Retry.Attempts > 0 {
		p = c.o.Retry
	}
	var last error
	err := p.Do(ctx, func(ctx context.Context) error {
		last = fn(ctx)
		if classify(last) == answerUnsupported {
			return nil
		}
		return last
	})
	if err != nil {
		return err
	}
	return last
}

// listFirst lists the first key of bucket: the cheapest call that proves the bucket is
// there and the key may list it.
func (c *checker) listFirst(ctx context.Context, s interface {
	List(context.Context, string, string) iter.Seq2[store.Object, error]
}, bucket string) error {
	return c.call(ctx, func(ctx context.Context) error {
		for _, err := range s.List(ctx, bucket, "") {
			return err
		}
		return nil
	})
}

// kinds of answers.
const (
	answerOK = iota
	answerDenied
	answerUnsupported
	answerNoBucket
	answerNotFound
	answerOther
)

func classify(err error) int {
	switch store.ClassOf(err) {
	case store.ClassNone:
		return answerOK
	case store.ClassNotFound:
		return answerNotFound
	case store.ClassDenied, store.ClassCredentials:
		return answerDenied
	case store.ClassUnsupported:
		return answerUnsupported
	case store.ClassNoBucket:
		return answerNoBucket
	}
	return answerOther
}

// fatal picks out errors no row can describe: a key the service rejects, a service
// that does not answer, or the end of ctx.
func fatal(side, bucket string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var se *store.Error
	if !errors.As(err, &se) {
		return nil
	}
	if store.ClassOf(err) == store.ClassCredentials || se.Status == 0 {
		return &SideError{Side: side, Bucket: bucket, Err: err}
	}
	return nil
}

// detail is the service's message alone, for rows whose status already says the code.
func detail(err error) string {
	var se *store.Error
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	return err.Error()
}

// brief is an error for a table cell: the service's code and message, no wrapping.
func brief(err error) string {
	var se *store.Error
	if errors.As(err, &se) {
		if se.Code != "" {
			return se.Code + ": " + se.Err.Error()
		}
		return se.Err.Error()
	}
	return err.Error()
}
