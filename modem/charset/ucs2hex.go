package charset

import "unicode"

// LooksLikeUCS2Hex reports whether s is plausibly UCS-2 hex rather than
// plain text. ZTE sticks answer USSD with +CUSD: 0,"0020004400…",7: the
// payload is UCS-2 hex although the DCS says GSM 7-bit; a client uses this
// to decide whether to Decode("UCS2", s).
//
// s must be a non-empty multiple of four hex digits, decode to UTF-16 with
// correctly paired surrogates, and every character must be printable or
// CR, LF or TAB (no controls, private use, unassigned code points or
// noncharacters). A string of decimal digits only (a balance "1234", a
// number) is accepted only if some character decodes to U+0000–U+00FF, as
// the ASCII-range characters of such replies do; "1234" alone, U+1234, is
// taken as text.
func LooksLikeUCS2Hex(s string) bool {
	if s == "" {
		return false
	}
	units, err := ucs2Units(s)
	if err != nil {
		return false
	}
	digitsOnly := true
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			digitsOnly = false
			break
		}
	}
	latin := false
	for i := 0; i < len(units); i++ {
		r := rune(units[i])
		if r >= 0xD800 && r <= 0xDBFF {
			if i+1 >= len(units) || units[i+1] < 0xDC00 || units[i+1] > 0xDFFF {
				return false
			}
			r = 0x10000 + (r-0xD800)<<10 + (rune(units[i+1]) - 0xDC00)
			i++
		} else if r >= 0xDC00 && r <= 0xDFFF {
			return false
		}
		if r <= 0xFF {
			latin = true
		}
		if r == '\r' || r == '\n' || r == '\t' {
			continue
		}
		if !unicode.IsPrint(r) && r != 0xA0 && !unicode.Is(unicode.Zs, r) {
			return false
		}
	}
	return !digitsOnly || latin
}
