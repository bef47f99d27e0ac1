package gsm7

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// EncodeError reports a character that the GSM 7-bit default alphabet and
// its extension table cannot represent.
type EncodeError struct {
	Rune   rune // the character
	Offset int  // its byte offset in the input string
}

// Error implements error.
func (e *EncodeError) Error() string {
	return fmt.Sprintf("gsm7: character %q (U+%04X) at byte offset %d is not in the GSM 7-bit alphabet", e.Rune, e.Rune, e.Offset)
}

// Septets returns the septets for r and how many there are (1, or 2 for an
// extension-table character); n is 0 if r cannot be encoded.
func Septets(r rune) (s [2]byte, n int) {
	if r >= 0 && r < fastLimit {
		switch e := encodeFast[r]; e >> 8 {
		case 1:
			return [2]byte{byte(e)}, 1
		case 2:
			return [2]byte{Escape, byte(e)}, 2
		}
		return s, 0
	}
	if c, ok := encodeDefault[r]; ok {
		return [2]byte{c}, 1
	}
	if c, ok := encodeExtension[r]; ok {
		return [2]byte{Escape, c}, 2
	}
	return s, 0
}

// Encode converts UTF-8 text to unpacked septets, one per byte. Characters of
// the extension table become Escape followed by their code. It returns an
// *EncodeError for the first character in neither table, and for invalid
// UTF-8.
func Encode(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return nil, &EncodeError{Rune: r, Offset: i}
			}
		}
		sep, n := Septets(r)
		if n == 0 {
			return nil, &EncodeError{Rune: r, Offset: i}
		}
		out = append(out, sep[:n]...)
	}
	return out, nil
}

// Count returns the number of septets Encode would produce for s, counting
// extension-table characters as 2. ok is false if some character cannot be
// encoded; n then counts only the characters that can.
func Count(s string) (n int, ok bool) {
	ok = true
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				ok = false
				continue
			}
		}
		_, k := Septets(r)
		if k == 0 {
			ok = false
		}
		n += k
	}
	return n, ok
}

// Decode converts unpacked septets to UTF-8 text.
//
// Following TS 23.038 §6.2.1.1, an escape followed by a code that has no
// character in the extension table decodes as the default-table character
// of that code, and an escape followed by another escape (reserved for a
// further extension table) decodes as a space. A lone escape at the end of
// the input also decodes as a space. Bytes above 0x7F are not septets and
// decode as U+FFFD.
func Decode(septets []byte) string {
	var b strings.Builder
	b.Grow(len(septets))
	for i := 0; i < len(septets); i++ {
		c := septets[i]
		switch {
		case c > 0x7F:
			b.WriteRune(utf8.RuneError)
		case c != Escape:
			b.WriteRune(defaultTable[c])
		case i+1 == len(septets):
			b.WriteByte(' ')
		default:
			i++
			next := septets[i]
			if r, ok := extensionTable[next]; ok {
				b.WriteRune(r)
			} else if next > 0x7F {
				b.WriteRune(utf8.RuneError)
			} else {
				b.WriteRune(defaultTable[next]) // 0x1B yields ' ' from the table
			}
		}
	}
	return b.String()
}
