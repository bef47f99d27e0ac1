package pdu

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestSplitTextAsUCS2(t *testing.T) {
	// 160 ASCII characters fit one GSM 7-bit SMS but need three UCS-2 parts
	// of 67, 67 and 26 code units.
	text := strings.Repeat("0123456789", 16)
	parts, err := SplitTextAs(text, AlphabetUCS2, 0x1234, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	var joined strings.Builder
	for i, p := range parts {
		got = append(got, len(utf16.Encode([]rune(p.Text))))
		c, ok := p.Concat()
		if !ok || c.Seq != i+1 || c.Total != 3 || c.Ref != 0x34 || c.Ref16 {
			t.Fatalf("part %d concat %+v ok=%v", i+1, c, ok)
		}
		joined.WriteString(p.Text)
	}
	if len(got) != 3 || got[0] != 67 || got[1] != 67 || got[2] != 26 {
		t.Fatalf("part sizes %v, want [67 67 26]", got)
	}
	if joined.String() != text {
		t.Fatal("parts do not join to the text")
	}

	// A surrogate pair that would straddle the 66-unit boundary of a
	// 16-bit reference moves whole to the next part.
	text = strings.Repeat("a", 65) + "😀" + strings.Repeat("b", 10)
	parts, err = SplitTextAs(text, AlphabetUCS2, 7, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || parts[0].Text != strings.Repeat("a", 65) || !strings.HasPrefix(parts[1].Text, "😀") {
		t.Fatalf("parts %q", []string{parts[0].Text, parts[1].Text})
	}
}

func TestSplitTextAsRejects(t *testing.T) {
	if _, err := SplitTextAs("smile 😀", AlphabetGSM7, 0, false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("emoji forced into GSM 7-bit: err %v, want ErrInvalid", err)
	}
	if _, err := SplitTextAs("data", Alphabet8Bit, 0, false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("8-bit text: err %v, want ErrInvalid", err)
	}
	if _, err := SplitTextAs("\xff", AlphabetUCS2, 0, false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid UTF-8: err %v, want ErrInvalid", err)
	}
}
