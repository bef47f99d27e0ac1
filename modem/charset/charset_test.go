package charset

import (
	"errors"
	"slices"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		cs, text, enc string
	}{
		{"GSM", "Hello @£$", "Hello \x00\x01\x02"},
		{"GSM", "{€}", "\x1b\x28\x1b\x65\x1b\x29"},
		{"gsm", "", ""},
		{"IRA", "AT+CUSD", "AT+CUSD"},
		{"UCS2", "A", "0041"},
		{"UCS2", "あ叶葉", "304253F68449"},
		{"UCS2", "😀", "D83DDE00"},
		{"ucs2", "Grüße", "0047007200FC00DF0065"},
		{"UCS2", "", ""},
		{"8859-1", "Grüße", "Gr\xfc\xdfe"},
		{"HEX", "\x03\x2f\xe6", "032FE6"},
		{"UTF-8", "Grüße 😀", "Grüße 😀"},
	} {
		got, err := Encode(tc.cs, tc.text)
		if err != nil {
			t.Errorf("Encode(%s, %q): %v", tc.cs, tc.text, err)
			continue
		}
		if got != tc.enc {
			t.Errorf("Encode(%s, %q) = %q, want %q", tc.cs, tc.text, got, tc.enc)
		}
		back, err := Decode(tc.cs, got)
		if err != nil {
			t.Errorf("Decode(%s, %q): %v", tc.cs, got, err)
			continue
		}
		if back != tc.text {
			t.Errorf("Decode(%s, %q) = %q, want %q", tc.cs, got, back, tc.text)
		}
	}
}

func TestUCS2Details(t *testing.T) {
	// Encode keeps the text's code points: no normalisation, upper-case hex.
	if got, err := Encode("UCS2", "ü"); err != nil || got != "00750308" {
		t.Fatalf("Encode(UCS2, decomposed ü) = %q, %v", got, err)
	}
	s, err := Decode("UCS2", "0047007200fc00df0065")
	if err != nil || s != "Grüße" {
		t.Fatalf("Decode lower-case hex = %q, %v", s, err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func() error
		want error
	}{
		{"unknown set", func() error { _, err := Encode("PCCP437", "x"); return err }, ErrUnknownCharset},
		{"unknown set decode", func() error { _, err := Decode("", "x"); return err }, ErrUnknownCharset},
		{"GSM emoji", func() error { _, err := Encode("GSM", "a😀"); return err }, ErrNotRepresentable},
		{"IRA umlaut", func() error { _, err := Encode("IRA", "ü"); return err }, ErrNotRepresentable},
		{"8859-1 euro", func() error { _, err := Encode("8859-1", "€"); return err }, ErrNotRepresentable},
		{"invalid UTF-8", func() error { _, err := Encode("UCS2", "a\xff"); return err }, ErrMalformed},
		{"GSM byte > 0x7F", func() error { _, err := Decode("GSM", "a\x80"); return err }, ErrMalformed},
		{"IRA byte > 0x7F", func() error { _, err := Decode("IRA", "\xc3\xbc"); return err }, ErrMalformed},
		{"UCS2 odd length", func() error { _, err := Decode("UCS2", "004"); return err }, ErrMalformed},
		{"UCS2 length 6", func() error { _, err := Decode("UCS2", "004100"); return err }, ErrMalformed},
		{"UCS2 not hex", func() error { _, err := Decode("UCS2", "00G1"); return err }, ErrMalformed},
		{"UCS2 lone high surrogate", func() error { _, err := Decode("UCS2", "D83D0041"); return err }, ErrMalformed},
		{"UCS2 lone low surrogate", func() error { _, err := Decode("UCS2", "DE00"); return err }, ErrMalformed},
		{"HEX odd", func() error { _, err := Decode("HEX", "ABC"); return err }, ErrMalformed},
		{"UTF-8 invalid", func() error { _, err := Decode("UTF-8", "\xff"); return err }, ErrMalformed},
	} {
		if err := tc.f(); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestSupported(t *testing.T) {
	got := Supported()
	for _, n := range []string{"GSM", "IRA", "UCS2", "8859-1", "HEX"} {
		if !slices.Contains(got, n) {
			t.Errorf("Supported() lacks %s", n)
		}
		if _, err := Encode(n, "A"); err != nil {
			t.Errorf("Encode(%s): %v", n, err)
		}
	}
}

func TestLooksLikeUCS2Hex(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"00200044", true}, // " D", the ZTE +CUSD quirk
		{"0059006F00750072002000620061006C0061006E00630065002000690073002000310030002E0035003000200045005500520020", true},
		{"041204300448002004310430043B0430043D0441", true}, // Cyrillic
		{"4E16754C60A8597DFF01", true}, // 世界您好！
		{"D83DDE00", true},             // emoji pair
		{"0031", true},                 // "1"
		{"", false},
		{"Your balance is 10.50 EUR", false},
		{"1234", false},     // digits only, U+1234: taken as text
		{"12345678", false}, // digits only, no ASCII-range character
		{"004", false},
		{"0041004", false},
		{"D83D0041", false}, // unpaired surrogate
		{"0007", false},     // control character
		{"E000", false},     // private use
		{"FFFF", false},     // noncharacter
		{"000D000A0041", true},
		{"00A0", true}, // no-break space
	} {
		if got := LooksLikeUCS2Hex(tc.s); got != tc.want {
			t.Errorf("LooksLikeUCS2Hex(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
