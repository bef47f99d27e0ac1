package gsm7

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// Published vectors: the "hellohello" of the classic SMS PDU tutorials
// (TS 23.040 examples), the Device::Gsm pangram and python-gsmmodem's GSM-7
// table (facts: text, septets and packed octets).
var packVectors = []struct {
	text    string
	septets []byte // nil: plain ASCII, same as text
	packed  string
}{
	{"hellohello", nil, "E8329BFD4697D9EC37"},
	{"The quick fox jumps over the lazy dog", nil, "54741914AFA7C76B90F98D07A9EB6DF81CF4B697E5203ABA0C6287F57910F97D06"},
	{"123", nil, "31D90C"},
	{"12345678", nil, "31D98C56B3DD70"},
	{"123456789", nil, "31D98C56B3DD7039"},
	{"Hello World!", nil, "C8329BFD065DDF72363904"},
	{"[{abc}]~", []byte{0x1B, 0x3C, 0x1B, 0x28, 0x61, 0x62, 0x63, 0x1B, 0x29, 0x1B, 0x3E, 0x1B, 0x3D}, "1BDE0615168F37A98D6FD303"},
	{"{åΦΓΛΩΠΨΣΘ€}", []byte{27, 40, 15, 18, 19, 20, 21, 22, 23, 24, 25, 27, 101, 27, 41}, "1BD44332A1542C174C6653DEA400"},
	{"a[]{}€", []byte{97, 27, 60, 27, 62, 27, 40, 27, 41, 27, 101}, "E10D6FE3DBA036A94D19"},
}

func TestVectors(t *testing.T) {
	for _, v := range packVectors {
		t.Run(v.text, func(t *testing.T) {
			want := v.septets
			if want == nil {
				want = []byte(v.text)
			}
			got, err := Encode(v.text)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Encode = % X, want % X", got, want)
			}
			if n, ok := Count(v.text); !ok || n != len(want) {
				t.Errorf("Count = %d,%v, want %d,true", n, ok, len(want))
			}
			packed := Pack(got, 0)
			if wantPacked := mustHex(t, v.packed); !bytes.Equal(packed, wantPacked) {
				t.Fatalf("Pack = %X, want %s", packed, v.packed)
			}
			un := Unpack(packed, 0, len(got))
			if !bytes.Equal(un, got) {
				t.Fatalf("Unpack = % X, want % X", un, got)
			}
			if s := Decode(un); s != v.text {
				t.Fatalf("Decode = %q, want %q", s, v.text)
			}
		})
	}
}

func TestWholeAlphabetRoundTrip(t *testing.T) {
	var all []byte
	for c := 0; c < 128; c++ {
		if c != Escape {
			all = append(all, byte(c))
		}
	}
	for code := range extensionTable {
		all = append(all, Escape, code)
	}
	s := Decode(all)
	back, err := Encode(s)
	if err != nil {
		t.Fatalf("Encode(Decode(all)): %v", err)
	}
	if !bytes.Equal(back, all) {
		t.Fatalf("round trip mismatch:\n got % X\nwant % X", back, all)
	}
	if n, ok := Count(s); !ok || n != len(all) {
		t.Fatalf("Count = %d,%v, want %d", n, ok, len(all))
	}
}

func TestEncodeError(t *testing.T) {
	for _, tc := range []struct {
		in     string
		r      rune
		offset int
	}{
		{"abc世界", '世', 3},
		{"Grüße 😀", '😀', 8},
		{"a\x80", '\uFFFD', 1},
		{"ç", 'ç', 0}, // only capital Ç is in the table
		{"`", '`', 0},
	} {
		_, err := Encode(tc.in)
		var ee *EncodeError
		if !errors.As(err, &ee) {
			t.Fatalf("Encode(%q) err = %v, want *EncodeError", tc.in, err)
		}
		if ee.Rune != tc.r || ee.Offset != tc.offset {
			t.Errorf("Encode(%q) = %+v, want rune %q offset %d", tc.in, ee, tc.r, tc.offset)
		}
		if !strings.Contains(ee.Error(), "offset") {
			t.Errorf("error text %q does not name the offset", ee.Error())
		}
		if _, ok := Count(tc.in); ok {
			t.Errorf("Count(%q) ok = true", tc.in)
		}
	}
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		in string
		n  int
		ok bool
	}{
		{"", 0, true},
		{"abc", 3, true},
		{"€", 2, true},
		{"a€b{", 6, true},
		{"a😀b", 2, false},
		{"\f", 2, true},
		{strings.Repeat("x", 160), 160, true},
		{strings.Repeat("^", 80), 160, true},
	} {
		n, ok := Count(tc.in)
		if n != tc.n || ok != tc.ok {
			t.Errorf("Count(%q) = %d,%v, want %d,%v", tc.in, n, ok, tc.n, tc.ok)
		}
	}
}

func TestDecodeEscapes(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{[]byte{0x1B, 0x65}, "€"},
		{[]byte{0x1B, 0x41}, "A"},        // undefined extension code → default table
		{[]byte{0x1B, 0x00}, "@"},        // undefined extension code → default table
		{[]byte{0x41, 0x1B}, "A "},       // lone trailing escape → space
		{[]byte{0x1B, 0x1B, 0x41}, " A"}, // escape to the reserved further table → space
		{[]byte{0x80, 0x41}, "\uFFFDA"},  // not a septet
		{[]byte{0x1B, 0xFF}, "\uFFFD"},
		{[]byte{}, ""},
	} {
		if got := Decode(tc.in); got != tc.want {
			t.Errorf("Decode(% X) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPackFillBits(t *testing.T) {
	septets, _ := Encode("Fill bits test: {x}")
	for fill := 0; fill <= 6; fill++ {
		packed := Pack(septets, fill)
		if want := (fill + 7*len(septets) + 7) / 8; len(packed) != want {
			t.Fatalf("fill %d: len %d, want %d", fill, len(packed), want)
		}
		if packed[0]&(1<<fill-1) != 0 {
			t.Fatalf("fill %d: fill bits not zero: %08b", fill, packed[0])
		}
		got := Unpack(packed, fill, len(septets))
		if !bytes.Equal(got, septets) {
			t.Fatalf("fill %d: Unpack = % X, want % X", fill, got, septets)
		}
		// Packing with fill bits equals packing after `fill` zero bits of a
		// header: compare with a shifted reference built bit by bit.
		ref := make([]byte, len(packed))
		bit := fill
		for _, s := range septets {
			for k := 0; k < 7; k++ {
				if s&(1<<k) != 0 {
					ref[bit/8] |= 1 << (bit % 8)
				}
				bit++
			}
		}
		if !bytes.Equal(ref, packed) {
			t.Fatalf("fill %d: Pack = % X, bitwise reference % X", fill, packed, ref)
		}
	}
}

func TestUnpackShortInput(t *testing.T) {
	if got := Unpack([]byte{0xE8, 0x32}, 0, 10); len(got) != 2 {
		t.Fatalf("Unpack of 2 octets gave %d septets, want 2", len(got))
	}
	if got := Unpack(nil, 3, 5); len(got) != 0 {
		t.Fatalf("Unpack(nil) = % X", got)
	}
	if got := Unpack([]byte{0xFF}, 6, 1); len(got) != 0 {
		t.Fatalf("Unpack 1 octet with 6 fill bits = % X, want none", got)
	}
	if got := Unpack([]byte{0xFF}, 0, -1); len(got) != 0 {
		t.Fatalf("Unpack n=-1 = % X", got)
	}
	if got := Pack([]byte{0x41}, 9); !bytes.Equal(got, []byte{0x41}) {
		t.Fatalf("Pack with fill 9 = % X, want 41 (treated as 0)", got)
	}
}

func TestPadded(t *testing.T) {
	for _, tc := range []struct {
		text   string
		packed string // expected PackPadded output
	}{
		// 7 septets: the 7 spare bits carry CR (0x0D<<1 = 0x1A in the top bits).
		{"1234567", "31D98C56B3DD1A"},
		// 8 septets: no spare bits, nothing added.
		{"12345678", "31D98C56B3DD70"},
		// 8 septets ending with a wanted CR: another CR is added.
		{"1234567\r", "31D98C56B3DD1A0D"},
		{"", ""},
	} {
		sep, err := Encode(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		packed := PackPadded(sep)
		if got := hex.EncodeToString(packed); !strings.EqualFold(got, tc.packed) {
			t.Errorf("PackPadded(%q) = %s, want %s", tc.text, got, tc.packed)
		}
		if got := Decode(UnpackPadded(packed)); got != tc.text && got != tc.text+"\r" {
			t.Errorf("UnpackPadded(PackPadded(%q)) = %q", tc.text, got)
		}
	}
	// Padding of 7 septets is removed exactly.
	if got := Decode(UnpackPadded(mustHex(t, "31D98C56B3DD1A"))); got != "1234567" {
		t.Errorf("UnpackPadded = %q, want 1234567", got)
	}
	// A wanted CR on an octet boundary survives as (at least) one CR.
	if got := Decode(UnpackPadded(mustHex(t, "31D98C56B3DD1A0D"))); got != "1234567\r\r" {
		t.Errorf("UnpackPadded = %q, want two CRs", got)
	}
}
