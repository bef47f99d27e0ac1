package charset

import "testing"

// FuzzDecode checks that Decode never panics and that, for the sets that
// map text one to one, what decodes re-encodes to the same string (up to
// hex case) and decodes again to the same text.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"0041", "D83DDE00", "00200044", "\x1b\x65", "Hello", "Gr\xfc\xdfe", "032FE6", "D83D"} {
		for _, cs := range Supported() {
			f.Add(cs, s)
		}
	}
	f.Fuzz(func(t *testing.T, cs, s string) {
		text, err := Decode(cs, s)
		if err != nil {
			return
		}
		name, _ := canonical(cs)
		if name == HEX {
			return // bytes need not be UTF-8
		}
		enc, err := Encode(cs, text)
		if err != nil {
			t.Fatalf("Encode(%s, Decode(%q) = %q): %v", cs, s, text, err)
		}
		again, err := Decode(cs, enc)
		if err != nil || again != text {
			t.Fatalf("Decode(%s, %q) = %q, %v; want %q", cs, enc, again, err, text)
		}
		_ = LooksLikeUCS2Hex(s)
	})
}

// FuzzEncode checks Encode/Decode round trips for every set.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"A", "Grüße", "😀", "{€}", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, cs := range Supported() {
			enc, err := Encode(cs, text)
			if err != nil {
				continue
			}
			back, err := Decode(cs, enc)
			if err != nil || back != text {
				t.Fatalf("%s: Decode(Encode(%q)) = %q, %v", cs, text, back, err)
			}
		}
	})
}
