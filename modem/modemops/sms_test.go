package modemops

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/relayconn"
)

// API_MAX_PARTS: a text over the limit is refused before the modem, with
// the field and the limit.
func TestPrepareMaxParts(t *testing.T) {
	o := New(Config{MaxParts: 2})
	if _, err := o.Prepare(SMS{To: "+436601234567", Text: strings.Repeat("x", 153*2)}); err != nil {
		t.Fatalf("2 parts: %v", err)
	}
	_, err := o.Prepare(SMS{To: "+436601234567", Text: strings.Repeat("x", 153*2+1)})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "text" || fe.Limit != 2 || !strings.Contains(fe.Message, "at most 2") {
		t.Fatalf("3 parts with a limit of 2: %v", err)
	}
	if New(Config{}).cfg.MaxParts != DefaultMaxParts || New(Config{MaxParts: 1000}).cfg.MaxParts != MaxParts {
		t.Fatal("MaxParts defaults")
	}
}

// A part's JSON carries its reference only when it was sent.
func TestPartJSON(t *testing.T) {
	b, err := json.Marshal([]Part{{1, PartSent, 7}, {2, PartUnknown, -1}, {3, PartNotAttempted, -1}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"seq":1,"state":"sent","reference":7},{"seq":2,"state":"unknown"},{"seq":3,"state":"not_attempted"}]`; string(b) != want {
		t.Fatalf("JSON %s, want %s", b, want)
	}
	if sent := SentParts([]Part{{1, PartSent, 7}, {2, PartFailed, -1}}); len(sent) != 1 || sent[0].Seq != 1 {
		t.Fatalf("SentParts %+v", sent)
	}
}

func TestFailureReason(t *testing.T) {
	for err, want := range map[error]string{
		&at.CMSError{Code: 331}:                          "cms_331",
		fmt.Errorf("part 1: %w", at.ErrDeadlineExceeded): "timeout",
		at.ErrClosed: "unavailable",
		fmt.Errorf("job: %w: not connected yet", relayconn.ErrUnavailable): "unavailable",
		errors.New("something else"):                                       "other",
	} {
		if got := FailureReason(err); got != want {
			t.Errorf("FailureReason(%v) = %q, want %q", err, got, want)
		}
	}
}
