package gsm7

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzUnpack checks that Unpack never panics, never returns more than asked
// or non-septets, and that Pack reproduces the bits it read.
func FuzzUnpack(f *testing.F) {
	for _, v := range packVectors {
		f.Add(mustHex(f, v.packed), 0, len(v.text))
	}
	f.Add([]byte{0xFF, 0xFF}, 6, 3)
	f.Add([]byte{}, -1, -1)
	f.Fuzz(func(t *testing.T, packed []byte, fill, n int) {
		s := Unpack(packed, fill, n)
		if len(s) > max(n, 0) {
			t.Fatalf("Unpack returned %d septets, asked %d", len(s), n)
		}
		for _, c := range s {
			if c > 0x7F {
				t.Fatalf("Unpack returned non-septet %#x", c)
			}
		}
		if fill < 0 || fill > 7 {
			return
		}
		re := Pack(s, fill)
		if len(re) > len(packed) {
			t.Fatalf("Pack of %d septets gave %d octets from %d", len(s), len(re), len(packed))
		}
		if !bytes.Equal(Unpack(re, fill, len(s)), s) {
			t.Fatalf("Unpack(Pack(s)) != s")
		}
		_ = UnpackPadded(packed)
	})
}

// FuzzDecode checks that any septets decode to valid UTF-8 and that text
// decoded from septets is stable under Encode/Decode.
func FuzzDecode(f *testing.F) {
	for _, v := range packVectors {
		if v.septets != nil {
			f.Add(v.septets)
		} else {
			f.Add([]byte(v.text))
		}
	}
	f.Add([]byte{0x1B})
	f.Add([]byte{0x1B, 0x1B, 0x1B})
	f.Fuzz(func(t *testing.T, septets []byte) {
		s := Decode(septets)
		if !utf8.ValidString(s) {
			t.Fatalf("Decode gave invalid UTF-8 %q", s)
		}
		enc, err := Encode(s)
		if err != nil {
			for _, c := range septets {
				if c > 0x7F {
					return // U+FFFD has no septet, expected
				}
			}
			t.Fatalf("Encode(Decode(% X)) = %v", septets, err)
		}
		if again := Decode(enc); again != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, again)
		}
		if n, ok := Count(s); !ok || n != len(enc) {
			t.Fatalf("Count(%q) = %d,%v, Encode gave %d", s, n, ok, len(enc))
		}
	})
}

// FuzzEncode checks that encodable text survives Encode/Pack/Unpack/Decode.
func FuzzEncode(f *testing.F) {
	for _, v := range packVectors {
		f.Add(v.text, 0)
	}
	f.Add("€ at the end", 3)
	f.Fuzz(func(t *testing.T, s string, fill int) {
		enc, err := Encode(s)
		n, ok := Count(s)
		if err != nil {
			if ok {
				t.Fatalf("Count ok but Encode failed: %v", err)
			}
			return
		}
		if !ok || n != len(enc) {
			t.Fatalf("Count = %d,%v, Encode gave %d septets", n, ok, len(enc))
		}
		fill &= 7
		got := Decode(Unpack(Pack(enc, fill), fill, len(enc)))
		if got != s {
			t.Fatalf("round trip of %q gave %q", s, got)
		}
	})
}
