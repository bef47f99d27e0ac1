package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The headers of every delivery.
const (
	// HeaderSignature is "v1=" and the hex HMAC-SHA256, keyed with the
	// webhook's secret, of the timestamp, a dot, and the raw body.
	HeaderSignature = "X-SMA-Signature"
	// HeaderTimestamp is the Unix time in seconds of the attempt; it is
	// signed, so a receiver can refuse a replayed old delivery.
	HeaderTimestamp = "X-SMA-Timestamp"
	// HeaderEventID is the event's stable id: the same on every attempt;
	// receivers deduplicate by it.
	HeaderEventID   = "X-SMA-Event-Id"
	HeaderEventType = "X-SMA-Event-Type"
	HeaderWebhookID = "X-SMA-Webhook-Id"
)

// DefaultTolerance is how far from the receiver's clock a timestamp may
// be before Verify refuses it.
const DefaultTolerance = 5 * time.Minute

// Sign returns the X-SMA-Signature value of body sent at unix time ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("webhook signature does not match")
	ErrStale        = errors.New("webhook timestamp too far from now")
)

// Verify checks a delivery as a receiver should: the signature over the
// timestamp and the raw body (in constant time), and a timestamp within
// tolerance of now. A receiver also deduplicates by X-SMA-Event-Id:
// delivery is at least once.
func Verify(secret, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", ErrBadSignature, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %v", ErrStale, d.Round(time.Second))
	}
	for _, sig := range strings.Split(signature, ",") { // several v1= values while a secret is rotated
		if hmac.Equal([]byte(strings.TrimSpace(sig)), []byte(Sign(secret, ts, body))) {
			return nil
		}
	}
	return ErrBadSignature
}
