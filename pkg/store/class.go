package store

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
)

// Class is what a failed request means for whoever made it: whether to try again, to
// slow down, or to stop and tell the operator what to fix. It is decided here, once,
// for every package that asks (retries, metrics, the engine's stop rules, preflight).
type Class int

const (
	ClassNone        Class = iota // no error
	ClassOther                    // none of the below: not retried
	ClassTransient                // a 5xx, a reset or refused connection, a body cut short: try again
	ClassThrottled                // SlowDown, 429: try again later, and send less
	ClassTimeout                  // no answer in time: try again, and send less
	ClassDamaged                  // bytes or digests that did not match: read them again
	ClassCredentials              // the key is rejected, revoked or expired: stop
	ClassFull                     // the store or the bucket's quota is full: stop
	ClassDenied                   // the key may not do this: stop for writes, report for checks
	ClassNoBucket                 // the bucket does not exist
	ClassNotFound                 // the object does not exist
	ClassUnsupported              // the store does not implement this call
	ClassCanceled                 // we cancelled it ourselves
	ClassExists                   // a write made only if the object was absent found it there
)

var classNames = [...]string{"none", "other", "transient", "throttled", "timeout", "damaged",
	"credentials", "full", "denied", "no_bucket", "not_found", "unsupported", "canceled", "exists"}

func (c Class) String() string { return classNames[c] }

// Retryable tells whether a request of this class may succeed when sent again soon.
func (c Class) Retryable() bool {
	return c == ClassTransient || c == ClassThrottled || c == ClassTimeout || c == ClassDamaged
}

// codes is every S3 error code the migrator tells apart. Codes not listed fall back on
// the HTTP status (see ClassOf).
var codes = map[string]Class{
	// Throttling, as AWS, GCS, R2 and MinIO spell it.
	"SlowDown": ClassThrottled, "TooManyRequests": ClassThrottled, "RequestLimitExceeded": ClassThrottled,
	"Throttling": ClassThrottled, "ThrottlingException": ClassThrottled,
	"RequestTimeout": ClassTimeout,
	"InternalError":  ClassTransient, "ServiceUnavailable": ClassTransient,
	"XMinioServerNotInitialized": ClassTransient, // MinIO still booting
	"RequestTimeTooSkewed":       ClassTransient, // a clock step; the next signature is fresh
	"IncompleteBody":             ClassTransient, // the service got a body cut short
	// InvalidDigest is a Content-MD5 that is not an MD5 at all: sending it again cannot help.
	"BadDigest": ClassDamaged, "XAmzContentSHA256Mismatch": ClassDamaged,
	"XAmzContentChecksumMismatch": ClassDamaged,
	"InvalidAccessKeyId":          ClassCredentials, "SignatureDoesNotMatch": ClassCredentials,
	"ExpiredToken": ClassCredentials, "InvalidToken": ClassCredentials, "TokenRefreshRequired": ClassCredentials,
	"InvalidClientTokenId": ClassCredentials,
	// A full disk or quota (MinIO answers 507) does not clear in seconds.
	"XMinioStorageFull": ClassFull, "XMinioAdminBucketQuotaExceeded": ClassFull, "QuotaExceeded": ClassFull,
	"AccessDenied": ClassDenied, "AllAccessDisabled": ClassDenied,
	"NoSuchBucket":   ClassNoBucket,
	"NoSuchKey":      ClassNotFound,
	"NotImplemented": ClassUnsupported, "XNotImplemented": ClassUnsupported,
	"PreconditionFailed": ClassExists, // If-None-Match: * on a PUT, and the key is taken
}

// Fault narrows a rejected key or a wrong region down to the one setting the operator
// must fix, for messages that name it. It refines Class; it does not replace it.
type Fault int

const (
	FaultNone         Fault = iota
	FaultAccessKey          // the service does not know the access key
	FaultSecretKey          // the signature does not match: the secret key is wrong
	FaultSessionToken       // temporary keys expired or their token is invalid
	FaultRegion             // the request was signed for another region
)

// faults is the part of the code table above that says which setting is wrong.
var faults = map[string]Fault{
	"InvalidAccessKeyId": FaultAccessKey, "InvalidClientTokenId": FaultAccessKey,
	"SignatureDoesNotMatch": FaultSecretKey,
	"ExpiredToken":          FaultSessionToken, "InvalidToken": FaultSessionToken, "TokenRefreshRequired": FaultSessionToken,
	"AuthorizationHeaderMalformed": FaultRegion, "InvalidRegion": FaultRegion,
}

// FaultOf says which setting a Store error blames, FaultNone when it blames none.
func FaultOf(err error) Fault {
	var se *Error
	if errors.As(err, &se) {
		return faults[se.Code]
	}
	return FaultNone
}

// ClassOf sorts an error from a Store. The service's own code is looked at first: a
// SlowDown comes as a 503, and must count as throttling, not as a server fault.
func ClassOf(err error) Class {
	if err == nil {
		return ClassNone
	}
	if errors.Is(err, context.Canceled) {
		return ClassCanceled
	}
	if errors.Is(err, ErrNotFound) {
		return ClassNotFound
	}
	var se *Error
	if errors.As(err, &se) {
		if c, ok := codes[se.Code]; ok {
			return c
		}
		switch {
		case se.Status == 429:
			return ClassThrottled
		case se.Status == 412:
			return ClassExists
		case se.Status == 408:
			return ClassTimeout
		case se.Status == 501:
			return ClassUnsupported
		case se.Status >= 500:
			return ClassTransient
		case se.Status == 403:
			return ClassDenied
		case se.Status == 404 && se.Key == "":
			return ClassNoBucket
		case se.Status == 404:
			return ClassNotFound
		case se.Status != 0:
			return ClassOther
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return ClassTimeout
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return ClassTransient
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return ClassTransient
	}
	if errors.Is(err, ErrTransient) {
		return ClassDamaged
	}
	return ClassOther
}

// ErrTransient marks an error the copier knows to be passing: bytes or ETags that did not
// match what was sent or read, which the next try reads again.
var ErrTransient = errors.New("transient")
