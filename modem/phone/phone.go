// Package phone normalises an SMS recipient given by a user into the
// number written into the PDU's TP-DA: international numbers (+E.164 or
// with the 00 prefix), national numbers (trunk prefix 0) with the
// configured default country calling code, and network short codes.
package phone

import (
	"errors"
	"fmt"
	"strings"
)

// Kind says how a recipient was understood.
type Kind string

const (
	International Kind = "international"
	National      Kind = "national" // converted to international
	ShortCode     Kind = "short_code"
)

// ErrInvalid is wrapped by every rejection; the message says why.
var ErrInvalid = errors.New("invalid recipient")

// Number is a normalised recipient: "+4366012345" or a short code "0800".
type Number struct {
	Number string
	Kind   Kind
}

// Normalize parses s. defaultCC is the calling code for national numbers
// ("43"), "" if national numbers are refused. Spaces, dashes, dots, slashes
// and parentheses are ignored.
func Normalize(s, defaultCC string) (Number, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return Number{}, fmt.Errorf("%w: empty", ErrInvalid)
	}
	var b strings.Builder
	for i, r := range raw {
		switch {
		case r == ' ' || r == '-' || r == '.' || r == '/' || r == '(' || r == ')':
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '*' || r == '#':
			return Number{}, fmt.Errorf("%w: %q contains * or # (a USSD code? use /v1/ussd)", ErrInvalid, raw)
		case (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
			return Number{}, fmt.Errorf("%w: %q is alphanumeric; SMS can only be sent to phone numbers and short codes", ErrInvalid, raw)
		default:
			return Number{}, fmt.Errorf("%w: %q contains %q; use digits with a leading + for international numbers", ErrInvalid, raw, r)
		}
	}
	n := b.String()
	switch {
	case strings.HasPrefix(n, "+"):
		return international(n[1:], raw)
	case strings.HasPrefix(n, "00"):
		return international(n[2:], raw)
	case strings.HasPrefix(n, "0") && len(n) > 6:
		if defaultCC == "" {
			return Number{}, fmt.Errorf("%w: %q is a national number but no default country is configured (API_DEFAULT_COUNTRY); use +<country code>", ErrInvalid, raw)
		}
		num, err := international(defaultCC+n[1:], raw)
		num.Kind = National
		return num, err
	case len(n) >= 3 && len(n) <= 8:
		return Number{Number: n, Kind: ShortCode}, nil
	case len(n) < 3:
		return Number{}, fmt.Errorf("%w: %q is too short", ErrInvalid, raw)
	default:
		return Number{}, fmt.Errorf("%w: %q is ambiguous; write international numbers with + and the country code, national ones with their leading 0", ErrInvalid, raw)
	}
}

func international(digits, raw string) (Number, error) {
	if len(digits) < 4 || len(digits) > 15 {
		return Number{}, fmt.Errorf("%w: %q: an international number has 4 to 15 digits after the +", ErrInvalid, raw)
	}
	if digits[0] == '0' {
		return Number{}, fmt.Errorf("%w: %q: a country code does not start with 0", ErrInvalid, raw)
	}
	if !Digits(digits, 4, 15) {
		return Number{}, fmt.Errorf("%w: %q: only digits may follow the +", ErrInvalid, raw)
	}
	return Number{Number: "+" + digits, Kind: International}, nil
}

// Digits reports whether s is min to max ASCII digits: a calling code, a
// PIN, the digits of an E.164 number.
func Digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
