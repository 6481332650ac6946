package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/openreplay-migrator/openreplay-migrator/pkg/store"
)

// Every code the retry policy, the metrics, the engine's stop rules and preflight once
// each kept a table of, and the class it now has in the one table.
func TestClassOf(t *testing.T) {
	code := func(c string, status int) error {
		return &store.Error{Op: "put", Bucket: "b", Key: "k", Status: status, Code: c, Err: errors.New(c)}
	}
	for _, c := range []struct {
		err       error
		want      store.Class
		retryable bool
	}{
		{nil, store.ClassNone, false},
		{code("SlowDown", 503), store.ClassThrottled, true},
		{code("TooManyRequests", 429), store.ClassThrottled, true},
		{code("RequestLimitExceeded", 503), store.ClassThrottled, true},
		{code("Throttling", 400), store.ClassThrottled, true},
		{code("ThrottlingException", 400), store.ClassThrottled, true},
		{code("", 429), store.ClassThrottled, true},
		{code("RequestTimeout", 400), store.ClassTimeout, true},
		{code("", 408), store.ClassTimeout, true},
		{code("InternalError", 500), store.ClassTransient, true},
		{code("ServiceUnavailable", 503), store.ClassTransient, true},
		{code("XMinioServerNotInitialized", 503), store.ClassTransient, true},
		{code("RequestTimeTooSkewed", 403), store.ClassTransient, true},
		{code("IncompleteBody", 400), store.ClassTransient, true},
		{code("", 502), store.ClassTransient, true},
		{code("BadDigest", 400), store.ClassDamaged, true},
		{code("XAmzContentSHA256Mismatch", 400), store.ClassDamaged, true},
		{code("XAmzContentChecksumMismatch", 400), store.ClassDamaged, true},
		{code("InvalidDigest", 400), store.ClassOther, false}, // a malformed Content-MD5: the same again fails again
		{code("InvalidAccessKeyId", 403), store.ClassCredentials, false},
		{code("SignatureDoesNotMatch", 403), store.ClassCredentials, false},
		{code("ExpiredToken", 400), store.ClassCredentials, false},
		{code("InvalidToken", 400), store.ClassCredentials, false},
		{code("TokenRefreshRequired", 400), store.ClassCredentials, false},
		{code("InvalidClientTokenId", 403), store.ClassCredentials, false},
		{code("XMinioStorageFull", 507), store.ClassFull, false},
		{code("XMinioAdminBucketQuotaExceeded", 400), store.ClassFull, false},
		{code("QuotaExceeded", 403), store.ClassFull, false},
		{code("AccessDenied", 403), store.ClassDenied, false},
		{code("AllAccessDisabled", 403), store.ClassDenied, false},
		{code("", 403), store.ClassDenied, false},
		{code("NoSuchBucket", 404), store.ClassNoBucket, false},
		{&store.Error{Op: "bucket", Bucket: "b", Status: 404, Err: io.EOF}, store.ClassNoBucket, false},
		{code("NoSuchKey", 404), store.ClassNotFound, false},
		{code("", 404), store.ClassNotFound, false},
		{fmt.Errorf("stat: %w", store.ErrNotFound), store.ClassNotFound, false},
		{code("NotImplemented", 501), store.ClassUnsupported, false},
		{code("", 501), store.ClassUnsupported, false},
		{code("InvalidArgument", 400), store.ClassOther, false},
		{context.Canceled, store.ClassCanceled, false},
		{fmt.Errorf("get: %w", context.DeadlineExceeded), store.ClassTimeout, true},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, store.ClassTimeout, true},
		{&store.Error{Op: "get", Bucket: "b", Key: "k", Err: syscall.ECONNRESET}, store.ClassTransient, true},
		{syscall.ECONNREFUSED, store.ClassTransient, true},
		{syscall.EPIPE, store.ClassTransient, true},
		{io.ErrUnexpectedEOF, store.ClassTransient, true},
		{&net.OpError{Op: "dial", Err: errors.New("no route to host")}, store.ClassTransient, true},
		{fmt.Errorf("part 2: stored other bytes: %w", store.ErrTransient), store.ClassDamaged, true},
		{errors.New("something else"), store.ClassOther, false},
	} {
		got := store.ClassOf(c.err)
		if got != c.want || got.Retryable() != c.retryable {
			t.Errorf("ClassOf(%v) = %s (retryable %v), want %s (retryable %v)", c.err, got, got.Retryable(), c.want, c.retryable)
		}
	}
}

// The codes whose messages name one setting to fix (the access key, the secret key,
// the session token, the region), and errors that name none.
func TestFaultOf(t *testing.T) {
	code := func(c string, status int) error {
		return fmt.Errorf("list b: %w", &store.Error{Op: "list", Bucket: "b", Status: status, Code: c, Err: errors.New(c)})
	}
	for _, c := range []struct {
		err  error
		want store.Fault
	}{
		{code("InvalidAccessKeyId", 403), store.FaultAccessKey},
		{code("InvalidClientTokenId", 403), store.FaultAccessKey},
		{code("SignatureDoesNotMatch", 403), store.FaultSecretKey},
		{code("ExpiredToken", 400), store.FaultSessionToken},
		{code("InvalidToken", 400), store.FaultSessionToken},
		{code("TokenRefreshRequired", 400), store.FaultSessionToken},
		{code("AuthorizationHeaderMalformed", 400), store.FaultRegion},
		{code("InvalidRegion", 400), store.FaultRegion},
		{code("AccessDenied", 403), store.FaultNone},
		{code("NoSuchBucket", 404), store.FaultNone},
		{errors.New("something else"), store.FaultNone},
		{nil, store.FaultNone},
	} {
		if got := store.FaultOf(c.err); got != c.want {
			t.Errorf("FaultOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
