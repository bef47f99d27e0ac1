// Package charset converts between UTF-8 and the TE character sets that
// AT+CSCS selects (3GPP TS 27.007 §5.5), as used for text-mode SMS, USSD
// strings (+CUSD) and phone book or number strings (+CNUM).
//
// Supported sets (names are case-insensitive):
//
//   - "GSM": the GSM 7-bit default alphabet of TS 23.038, one 8-bit byte per
//     septet; extension characters are the escape 0x1B followed by their code.
//   - "IRA": International Reference Alphabet (ITU-T T.50), i.e. 7-bit ASCII.
//   - "UCS2": 16-bit universal character set as a string of hex digits, four
//     per UTF-16BE code unit ("0041" is "A"); characters outside the BMP are
//     surrogate pairs ("D83DDE00" is U+1F600).
//   - "8859-1": ISO 8859 Latin 1, one byte per character.
//   - "HEX": the bytes of the string as hex digits, without conversion
//     ("032FE6" is the three bytes 0x03, 0x2F, 0xE6).
//   - "UTF-8": UTF-8 unchanged (validated).
//
// Encode goes from UTF-8 text to the set, Decode from the set to UTF-8.
package charset

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sim-modem-api/sim-modem-api/modem/gsm7"
)

// Errors, wrapped with details; test with errors.Is.
var (
	// ErrUnknownCharset: the character set name is not supported.
	ErrUnknownCharset = errors.New("unknown character set")
	// ErrNotRepresentable: a character cannot be represented in the set.
	ErrNotRepresentable = errors.New("character not representable")
	// ErrMalformed: the input is not valid in the set (bad hex, odd length,
	// unpaired surrogate, byte out of range, invalid UTF-8).
	ErrMalformed = errors.New("malformed input")
)

// Names of the supported character sets, as AT+CSCS spells them.
const (
	GSM    = "GSM"
	IRA    = "IRA"
	UCS2   = "UCS2"
	Latin1 = "8859-1"
	HEX    = "HEX"
	UTF8   = "UTF-8"
)

// Supported returns the names of the supported character sets.
func Supported() []string {
	return []string{GSM, IRA, UCS2, Latin1, HEX, UTF8}
}

// canonical returns the canonical name of cs.
func canonical(cs string) (string, error) {
	for _, n := range Supported() {
		if strings.EqualFold(cs, n) {
			return n, nil
		}
	}
	return "", fmt.Errorf("charset %q: %w", cs, ErrUnknownCharset)
}

// Encode converts UTF-8 text to the character set cs.
func Encode(cs string, text string) (string, error) {
	name, err := canonical(cs)
	if err != nil {
		return "", err
	}
	if name != HEX {
		if i := invalidUTF8(text); i >= 0 {
			return "", fmt.Errorf("charset %s: encode: %w: invalid UTF-8 at byte offset %d", name, ErrMalformed, i)
		}
	}
	switch name {
	case GSM:
		s, err := gsm7.Encode(text)
		if err != nil {
			return "", fmt.Errorf("charset GSM: encode: %w: %w", ErrNotRepresentable, err)
		}
		return string(s), nil
	case IRA:
		for i, r := range text {
			if r > 0x7F {
				return "", fmt.Errorf("charset IRA: encode: %w: %q at byte offset %d", ErrNotRepresentable, r, i)
			}
		}
		return text, nil
	case UCS2:
		units := utf16.Encode([]rune(text))
		var b strings.Builder
		b.Grow(4 * len(units))
		for _, u := range units {
			fmt.Fprintf(&b, "%04X", u)
		}
		return b.String(), nil
	case Latin1:
		out := make([]byte, 0, len(text))
		for i, r := range text {
			if r > 0xFF {
				return "", fmt.Errorf("charset 8859-1: encode: %w: %q at byte offset %d", ErrNotRepresentable, r, i)
			}
			out = append(out, byte(r))
		}
		return string(out), nil
	case HEX:
		return strings.ToUpper(hex.EncodeToString([]byte(text))), nil
	default: // UTF8
		return text, nil
	}
}

// Decode converts s from the character set cs to UTF-8 text. For "GSM",
// bytes above 0x7F are an error; for "UCS2" and "HEX", s must be hex digits
// (either case) of the right length, and UCS2 must not contain an unpaired
// surrogate. "HEX" returns the bytes as they are, which need not be UTF-8.
func Decode(cs string, s string) (string, error) {
	name, err := canonical(cs)
	if err != nil {
		return "", err
	}
	switch name {
	case GSM:
		for i := 0; i < len(s); i++ {
			if s[i] > 0x7F {
				return "", fmt.Errorf("charset GSM: decode: %w: byte %#02x at offset %d is not a septet", ErrMalformed, s[i], i)
			}
		}
		return gsm7.Decode([]byte(s)), nil
	case IRA:
		for i := 0; i < len(s); i++ {
			if s[i] > 0x7F {
				return "", fmt.Errorf("charset IRA: decode: %w: byte %#02x at offset %d", ErrMalformed, s[i], i)
			}
		}
		return s, nil
	case UCS2:
		return decodeUCS2Hex(s)
	case Latin1:
		var b strings.Builder
		b.Grow(len(s))
		for i := 0; i < len(s); i++ {
			b.WriteRune(rune(s[i]))
		}
		return b.String(), nil
	case HEX:
		b, err := hex.DecodeString(s)
		if err != nil {
			return "", fmt.Errorf("charset HEX: decode: %w: %w", ErrMalformed, err)
		}
		return string(b), nil
	default: // UTF8
		if i := invalidUTF8(s); i >= 0 {
			return "", fmt.Errorf("charset UTF-8: decode: %w: invalid UTF-8 at byte offset %d", ErrMalformed, i)
		}
		return s, nil
	}
}

// decodeUCS2Hex decodes hex UTF-16BE code units.
func decodeUCS2Hex(s string) (string, error) {
	units, err := ucs2Units(s)
	if err != nil {
		return "", fmt.Errorf("charset UCS2: decode: %w", err)
	}
	for i := 0; i < len(units); i++ {
		switch u := units[i]; {
		case utf16.IsSurrogate(rune(u)) && u < 0xDC00:
			if i+1 >= len(units) || units[i+1] < 0xDC00 || units[i+1] > 0xDFFF {
				return "", fmt.Errorf("charset UCS2: decode: %w: unpaired high surrogate %04X at hex offset %d", ErrMalformed, u, 4*i)
			}
			i++
		case utf16.IsSurrogate(rune(u)):
			return "", fmt.Errorf("charset UCS2: decode: %w: unpaired low surrogate %04X at hex offset %d", ErrMalformed, u, 4*i)
		}
	}
	return string(utf16.Decode(units)), nil
}

// ucs2Units parses groups of four hex digits.
func ucs2Units(s string) ([]uint16, error) {
	if len(s)%4 != 0 {
		return nil, fmt.Errorf("%w: length %d is not a multiple of 4", ErrMalformed, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return units, nil
}

// invalidUTF8 returns the offset of the first invalid UTF-8 byte, or -1.
func invalidUTF8(s string) int {
	if utf8.ValidString(s) {
		return -1
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}
