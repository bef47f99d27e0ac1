package modemops

import (
	"strings"
	"testing"
)

func TestPreviewBoundaries(t *testing.T) {
	o := New(Config{MaxParts: 3})
	for _, tc := range []struct {
		name, text    string
		enc           string
		parts, units  int
		perPart, left int
		tooLong       bool
		forcing       string
	}{
		{"empty", "", "gsm7", 1, 0, 160, 160, false, ""},
		{"160 septets", strings.Repeat("a", 160), "gsm7", 1, 160, 160, 0, false, ""},
		{"161 septets", strings.Repeat("a", 161), "gsm7", 2, 161, 153, 145, false, ""},
		{"306 septets", strings.Repeat("a", 306), "gsm7", 2, 306, 153, 0, false, ""},
		{"307 septets", strings.Repeat("a", 307), "gsm7", 3, 307, 153, 152, false, ""},
		{"extension char counts two", strings.Repeat("a", 158) + "€", "gsm7", 1, 160, 160, 0, false, ""},
		{"extension char does not straddle", strings.Repeat("a", 159) + "€", "gsm7", 2, 161, 153, 145, false, ""},
		{"70 units", strings.Repeat("ж", 70), "ucs2", 1, 70, 70, 0, false, "ж"},
		{"71 units", strings.Repeat("ж", 71), "ucs2", 2, 71, 67, 63, false, "ж"},
		{"emoji count two", "Hi 👋👋", "ucs2", 1, 7, 70, 63, false, "👋"},
		{"surrogate pair does not straddle", strings.Repeat("ж", 66) + "👋" + strings.Repeat("ж", 4), "ucs2", 2, 72, 67, 61, false, "ж👋"},
		{"over API_MAX_PARTS", strings.Repeat("a", 153*3+1), "gsm7", 4, 460, 153, 152, true, ""},
		{"over 255 parts", strings.Repeat("ж", 67*255+1), "ucs2", 256, 67*255 + 1, 67, 66, true, "ж"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := o.Preview(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if p.Encoding != tc.enc || p.Parts != tc.parts || p.Units != tc.units || p.UnitsPerPart != tc.perPart ||
				p.UnitsLeft != tc.left || p.TooLong != tc.tooLong || strings.Join(p.ForcingUCS2, "") != tc.forcing || p.MaxParts != 3 {
				t.Errorf("Preview = %+v; want %s, %d parts, %d units, %d per part, %d left, tooLong %v, forcing %q",
					p, tc.enc, tc.parts, tc.units, tc.perPart, tc.left, tc.tooLong, tc.forcing)
			}
		})
	}
}

// FuzzPreview checks that the preview agrees with Prepare, which is what
// sending does: the same encoding and number of parts, or Prepare's limit
// error exactly when the preview says too long.
func FuzzPreview(f *testing.F) {
	for _, s := range []string{"", "Hello", "Grüße 👋🇦🇹", strings.Repeat("€", 80), strings.Repeat("ж", 140), "{}[]~\\|^"} {
		f.Add(s)
	}
	o := New(Config{MaxParts: 4})
	f.Fuzz(func(t *testing.T, text string) {
		p, err := o.Preview(text)
		prep, perr := o.Prepare(SMS{To: "+436601234567", Text: text})
		if err != nil {
			if perr == nil {
				t.Fatalf("Preview refused %q (%v), Prepare took it", text, err)
			}
			return
		}
		if p.UnitsLeft < 0 || p.UnitsLeft >= p.UnitsPerPart && p.Units > 0 {
			t.Fatalf("Preview(%q): %d units left of %d", text, p.UnitsLeft, p.UnitsPerPart)
		}
		if p.TooLong {
			if perr == nil {
				t.Fatalf("Preview(%q) says too long (%d parts), Prepare made %d", text, p.Parts, len(prep.PDUs))
			}
			return
		}
		if perr != nil {
			t.Fatalf("Prepare(%q): %v; Preview %+v", text, perr, p)
		}
		if p.Encoding != prep.Encoding || p.Parts != len(prep.PDUs) {
			t.Fatalf("Preview(%q) = %s × %d; Prepare %s × %d", text, p.Encoding, p.Parts, prep.Encoding, len(prep.PDUs))
		}
	})
}
