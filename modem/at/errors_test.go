package at

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestCodeTablesRoundTrip(t *testing.T) {
	for code, name := range cmeNames {
		if e := ParseCMEError(name); e.Code != code {
			t.Errorf("CME %q parses as %d, want %d", name, e.Code, code)
		}
	}
	for code, name := range cmsNames {
		if e := ParseCMSError(name); e.Code != code {
			t.Errorf("CMS %q parses as %d, want %d", name, e.Code, code)
		}
	}
	for alias, code := range cmeAliases {
		if e := ParseCMEError(alias); e.Code != code || e.Name != cmeNames[code] {
			t.Errorf("CME alias %q: %+v", alias, e)
		}
	}
	for alias, code := range cmsAliases {
		if e := ParseCMSError(alias); e.Code != code || e.Name != cmsNames[code] {
			t.Errorf("CMS alias %q: %+v", alias, e)
		}
	}
}

func TestCodeTablesCoverage(t *testing.T) {
	// The codes the API must be able to name.
	cme := []int{0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31, 32,
		100, 103, 106, 107, 111, 112, 113, 114, 115, 132, 133, 134, 148, 149, 150, 257, 258, 259, 260, 261, 262, 263}
	for _, c := range cme {
		if CMEName(c) == "" {
			t.Errorf("no name for +CME ERROR: %d", c)
		}
	}
	cms := []int{1, 8, 10, 21, 27, 28, 29, 30, 38, 41, 42, 47, 50, 69, 81, 95, 96, 97, 98, 99, 111, 127,
		300, 301, 302, 303, 304, 305, 310, 311, 312, 313, 314, 315, 316, 317, 318, 320, 321, 322, 330, 331, 332, 340, 500}
	for _, c := range cms {
		if CMSName(c) == "" {
			t.Errorf("no name for +CMS ERROR: %d", c)
		}
	}
}

func TestErrorStrings(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&CMEError{10, "SIM not inserted"}, "at: +CME ERROR: 10 (SIM not inserted)"},
		{&CMEError{-1, "weird"}, "at: +CME ERROR: weird"},
		{&CMSError{999, ""}, "at: +CMS ERROR: 999"},
		{&FinalError{"NO CARRIER"}, "at: NO CARRIER"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%#v: %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestParseFinal(t *testing.T) {
	tests := []struct {
		line  string
		final bool
		err   error
	}{
		{"OK", true, nil},
		{"ERROR", true, ErrError},
		{"+CME ERROR: 3", true, &CMEError{3, "operation not allowed"}},
		{"+cme error:3", true, &CMEError{3, "operation not allowed"}},
		{"+CMS ERROR:", true, &CMSError{-1, ""}},
		{"+CME ERRORS: 3", false, nil},
		{"OKAY", false, nil},
		{"+CMGS: 5", false, nil},
		{"RING", false, nil},
	}
	for _, tc := range tests {
		fin, err := parseFinal(tc.line)
		if fin != tc.final {
			t.Errorf("%q: final %v", tc.line, fin)
			continue
		}
		var cme *CMEError
		var cms *CMSError
		switch want := tc.err.(type) {
		case *CMEError:
			if !errors.As(err, &cme) || *cme != *want {
				t.Errorf("%q: %v", tc.line, err)
			}
		case *CMSError:
			if !errors.As(err, &cms) || *cms != *want {
				t.Errorf("%q: %v", tc.line, err)
			}
		default:
			if err != tc.err {
				t.Errorf("%q: %v", tc.line, err)
			}
		}
	}
}

func TestCommandNames(t *testing.T) {
	tests := map[string][]string{
		"+CREG?":              {"+CREG"},
		"E0+CMEE=2;+CMGF=0":   {"+CMEE", "+CMGF"},
		`+CSCA="+4365009000"`: {"+CSCA"},
		"I":                   nil,
		"+ZGETICCID":          {"+ZGETICCID"},
		"^SYSCFG?":            {"^SYSCFG"},
	}
	for in, want := range tests {
		if got := commandNames(in); !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	labels := map[string]string{"": "AT", "E0": "E", "S7?": "S7", "&F": "&F", "+CMGS=23": "+CMGS", "i": "I"}
	for in, want := range labels {
		if got := label(in); got != want {
			t.Errorf("label(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSIMNotReady(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{ParseCMSError("311"), true}, {ParseCMSError("SIM PIN required"), true}, {ParseCMSError("310"), true},
		{ParseCMSError("318"), true}, {ParseCMSError("330"), false}, {ParseCMSError("500"), false},
		{ParseCMEError("11"), true}, {ParseCMEError("10"), true}, {ParseCMEError("18"), true},
		{ParseCMEError("30"), false}, {ErrError, false}, {nil, false},
		{fmt.Errorf("AT+CMGS=23: %w", ParseCMSError("316")), true},
	} {
		if got := SIMNotReady(tc.err); got != tc.want {
			t.Errorf("SIMNotReady(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestAnsweredCMSCodeInvalidIndex(t *testing.T) {
	for _, c := range []struct {
		err      error
		answered bool
		cms      int
	}{
		{ErrError, true, 0},
		{fmt.Errorf("AT+CMGD=3: %w", &CMSError{Code: 321, Name: CMSName(321)}), true, 321},
		{&CMEError{Code: 10}, true, 0},
		{ErrDeadlineExceeded, false, 0},
		{fmt.Errorf("x: %w", ErrClosed), false, 0},
		{ErrOutOfSync, false, 0},
		{context.Canceled, false, 0},
	} {
		if got := Answered(c.err); got != c.answered {
			t.Errorf("Answered(%v) = %v, want %v", c.err, got, c.answered)
		}
		code, ok := CMSCode(c.err)
		if ok != (c.cms != 0) || code != c.cms {
			t.Errorf("CMSCode(%v) = %d, %v; want %d", c.err, code, ok, c.cms)
		}
		if got := InvalidIndex(c.err); got != (c.cms == 321) {
			t.Errorf("InvalidIndex(%v) = %v", c.err, got)
		}
	}
}
