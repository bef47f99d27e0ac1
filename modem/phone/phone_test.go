package phone

import (
	"errors"
	"strings"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, cc, want string
		kind         Kind
	}{
		{"+43 660 1234567", "", "+436601234567", International},
		{"+1 (415) 555-2671", "", "+14155552671", International},
		{"0043660123456", "", "+43660123456", International},
		{"0660 1234567", "43", "+436601234567", National},
		{"030/1234567", "49", "+49301234567", National},
		{"0800", "", "0800", ShortCode},
		{"6245", "", "6245", ShortCode},
		{"11833", "43", "11833", ShortCode},
	} {
		got, err := Normalize(tc.in, tc.cc)
		if err != nil || got.Number != tc.want || got.Kind != tc.kind {
			t.Errorf("Normalize(%q, %q) = %+v, %v; want %s %s", tc.in, tc.cc, got, err, tc.want, tc.kind)
			continue
		}
		if _, err := pdu.ParseAddress(got.Number); err != nil {
			t.Errorf("pdu.ParseAddress(%q): %v", got.Number, err)
		}
	}
}

func TestReject(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "empty",
		"MyBank":            "alphanumeric",
		"06601234567":       "no default country",
		"+0123456":          "does not start with 0",
		"+43":               "4 to 15 digits",
		"+1234567890123456": "4 to 15 digits",
		"12":                "too short",
		"436601234567":      "ambiguous",
		"*100#":             "USSD",
		"+43\r\nAT":         "contains",
		"+43<heartbeat>":    "contains",
		"43+660":            "contains",
	} {
		_, err := Normalize(in, "")
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Normalize(%q) = %v; want an error with %q", in, err, want)
		}
	}
}
