package pdu

import (
	"fmt"
	"strings"

	"github.com/sim-modem-api/sim-modem-api/modem/gsm7"
)

const (
	maxAddressDigits   = 20 // TP and RP address values are at most 10 octets
	maxAlphanumSeptets = 11 // 11 septets fill 10 octets
)

// String returns the number or text of the address.
func (a Address) String() string { return a.Number }

// ParseAddress parses a destination as a user would type it:
//
//   - "+4366012345" (optionally with spaces, '-', '(', ')' or '.' between the
//     digits) is TONInternational, NPIISDN;
//   - digits, '*' and '#' (same separators allowed) are TONUnknown, NPIISDN;
//   - anything else is an alphanumeric address (TONAlphanumeric, NPIUnknown)
//     and must be at most 11 septets of the GSM 7-bit alphabet.
//
// Numbers have at most 20 digits. Errors wrap ErrInvalidAddress.
func ParseAddress(s string) (Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, fmt.Errorf("%w: empty", ErrInvalidAddress)
	}
	if rest, intl := strings.CutPrefix(s, "+"); intl {
		digits, err := dialDigits(rest)
		if err != nil {
			return Address{}, fmt.Errorf("%w: international number %q: %v", ErrInvalidAddress, s, err)
		}
		return Address{Number: "+" + digits, TON: TONInternational, NPI: NPIISDN}, nil
	}
	if digits, err := dialDigits(s); err == nil {
		return Address{Number: digits, TON: TONUnknown, NPI: NPIISDN}, nil
	}
	n, ok := gsm7.Count(s)
	if !ok {
		_, err := gsm7.Encode(s)
		return Address{}, fmt.Errorf("%w: alphanumeric address %q: %v", ErrInvalidAddress, s, err)
	}
	if n > maxAlphanumSeptets {
		return Address{}, fmt.Errorf("%w: alphanumeric address %q needs %d septets, at most %d allowed: %w",
			ErrInvalidAddress, s, n, maxAlphanumSeptets, ErrTooLong)
	}
	return Address{Number: s, TON: TONAlphanumeric, NPI: NPIUnknown}, nil
}

// dialDigits returns the digits, '*' and '#' of s without separators.
func dialDigits(s string) (string, error) {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '*', r == '#':
			b.WriteRune(r)
		case r == ' ', r == '-', r == '(', r == ')', r == '.':
		default:
			return "", fmt.Errorf("invalid character %q at byte offset %d", r, i)
		}
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("no digits")
	}
	if b.Len() > maxAddressDigits {
		return "", fmt.Errorf("%d digits, at most %d allowed: %w", b.Len(), maxAddressDigits, ErrTooLong)
	}
	return b.String(), nil
}

// typeOfAddress builds the type-of-address octet.
func typeOfAddress(a Address) (byte, error) {
	if a.TON > 7 {
		return 0, fmt.Errorf("%w: type of number %d", ErrInvalidAddress, a.TON)
	}
	if a.NPI > 15 {
		return 0, fmt.Errorf("%w: numbering plan %d", ErrInvalidAddress, a.NPI)
	}
	return 0x80 | byte(a.TON)<<4 | byte(a.NPI), nil
}

// splitTypeOfAddress decodes the type-of-address octet; bit 7 is ignored.
func splitTypeOfAddress(toa byte) (TypeOfNumber, NumberingPlan) {
	return TypeOfNumber(toa >> 4 & 0x07), NumberingPlan(toa & 0x0F)
}

// addressDigits returns the dialling digits of a numeric address: the
// leading '+' of an international number is dropped.
func addressDigits(a Address) string {
	if a.TON == TONInternational {
		return strings.TrimPrefix(a.Number, "+")
	}
	return a.Number
}

// digitValue maps a dialling digit to its semi-octet (TS 24.008 §10.5.4.7).
func digitValue(r rune) (byte, bool) {
	switch {
	case r >= '0' && r <= '9':
		return byte(r - '0'), true
	case r == '*':
		return 0x0A, true
	case r == '#':
		return 0x0B, true
	case r == 'a', r == 'A':
		return 0x0C, true
	case r == 'b', r == 'B':
		return 0x0D, true
	case r == 'c', r == 'C':
		return 0x0E, true
	}
	return 0, false
}

const digitChars = "0123456789*#abc"

// encodeSemiOctets packs digits two per octet, low nibble first, with an F
// filler if their number is odd.
func encodeSemiOctets(digits string) ([]byte, error) {
	if len(digits) > maxAddressDigits {
		return nil, fmt.Errorf("%d digits, at most %d allowed: %w", len(digits), maxAddressDigits, ErrTooLong)
	}
	out := make([]byte, (len(digits)+1)/2)
	for i, r := range digits {
		v, ok := digitValue(r)
		if !ok {
			return nil, fmt.Errorf("%w: character %q at byte offset %d is not a dialling digit", ErrInvalidAddress, r, i)
		}
		if i%2 == 0 {
			out[i/2] = 0xF0 | v
		} else {
			out[i/2] = out[i/2]&0x0F | v<<4
		}
	}
	return out, nil
}

// decodeSemiOctets reads n digits from b. A 0xF filler is accepted only
// where all remaining semi-octets are fillers (the number then ends there).
func decodeSemiOctets(b []byte, n int) (string, error) {
	var sb strings.Builder
	sb.Grow(n)
	for i := 0; i < n; i++ {
		v := b[i/2] >> (4 * (i % 2)) & 0x0F
		if v == 0x0F {
			for j := i + 1; j < n; j++ {
				if b[j/2]>>(4*(j%2))&0x0F != 0x0F {
					return "", fmt.Errorf("%w: filler 0xF at digit %d inside the number", ErrInvalidAddress, i)
				}
			}
			break
		}
		sb.WriteByte(digitChars[v])
	}
	return sb.String(), nil
}

// encodeAddress encodes a TP address (TS 23.040 §9.1.2.5): length in
// semi-octets, type of address, value.
func encodeAddress(a Address) ([]byte, error) {
	toa, err := typeOfAddress(a)
	if err != nil {
		return nil, err
	}
	if a.TON == TONAlphanumeric {
		septets, err := gsm7.Encode(a.Number)
		if err != nil {
			return nil, fmt.Errorf("%w: alphanumeric: %w", ErrInvalidAddress, err)
		}
		if len(septets) > maxAlphanumSeptets {
			return nil, fmt.Errorf("%w: alphanumeric address needs %d septets, at most %d allowed: %w",
				ErrInvalidAddress, len(septets), maxAlphanumSeptets, ErrTooLong)
		}
		semi := (7*len(septets) + 3) / 4
		return append([]byte{byte(semi), toa}, gsm7.Pack(septets, 0)...), nil
	}
	digits := addressDigits(a)
	value, err := encodeSemiOctets(digits)
	if err != nil {
		return nil, err
	}
	return append([]byte{byte(len(digits)), toa}, value...), nil
}

// decodeAddress decodes a TP address.
func decodeAddress(r *reader, field string) (Address, error) {
	start := r.off
	n, err := r.octet(field)
	if err != nil {
		return Address{}, err
	}
	if n > maxAddressDigits {
		return Address{}, r.failAt(field, start, fmt.Errorf("%w: length %d semi-octets exceeds %d", ErrInvalid, n, maxAddressDigits))
	}
	toa, err := r.octet(field)
	if err != nil {
		return Address{}, err
	}
	value, err := r.take(field, (int(n)+1)/2)
	if err != nil {
		return Address{}, err
	}
	ton, npi := splitTypeOfAddress(toa)
	a := Address{TON: ton, NPI: npi}
	if ton == TONAlphanumeric {
		a.Number = gsm7.Decode(gsm7.Unpack(value, 0, int(n)*4/7))
		return a, nil
	}
	a.Number, err = decodeSemiOctets(value, int(n))
	if err != nil {
		return Address{}, r.failAt(field, start, err)
	}
	if ton == TONInternational {
		a.Number = "+" + a.Number
	}
	return a, nil
}
