package at

import (
	"context"
	"fmt"
	"testing"
)

func TestPermanentSMSError(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&CMSError{Code: 1}, true},     // unassigned number
		{&CMSError{Code: 21}, true},    // transfer rejected
		{&CMSError{Code: 41}, false},   // temporary failure
		{&CMSError{Code: 42}, false},   // congestion
		{&CMSError{Code: 27}, false},   // destination out of order
		{&CMSError{Code: 0xC3}, true},  // invalid SME address
		{&CMSError{Code: 0xC0}, false}, // SC busy
		{&CMSError{Code: 0xFF}, false}, // unspecified
		{&CMSError{Code: 304}, true},   // invalid PDU parameter
		{&CMSError{Code: 330}, true},   // SMSC unknown
		{&CMSError{Code: 311}, false},  // SIM PIN required
		{&CMSError{Code: 321}, false},  // invalid index
		{&CMSError{Code: 322}, false},  // memory full
		{&CMSError{Code: 331}, false},  // no network service
		{&CMSError{Code: 332}, false},  // network timeout
		{&CMSError{Code: 500}, false},  // unknown
		{&CMSError{Code: -1, Name: "something new"}, false},
		{&CMEError{Code: 3}, true},
		{&CMEError{Code: 11}, false},
		{&CMEError{Code: 30}, false},
		{ErrError, false},
		{ErrDeadlineExceeded, false},
		{ErrClosed, false},
		{ErrBodyUnconfirmed, false},
		{context.Canceled, false},
		{fmt.Errorf("part 2: %w", &CMSError{Code: 1}), true},
	} {
		if got := PermanentSMSError(c.err); got != c.want {
			t.Errorf("PermanentSMSError(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
