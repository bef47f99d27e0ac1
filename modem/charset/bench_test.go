package charset

import (
	"strings"
	"testing"
)

func BenchmarkDecodeUCS2(b *testing.B) {
	s, err := Encode("UCS2", strings.Repeat("Guthaben: 10,50 EUR. ", 8))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode("UCS2", s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLooksLikeUCS2Hex(b *testing.B) {
	s, _ := Encode("UCS2", strings.Repeat("Guthaben: 10,50 EUR. ", 8))
	b.ReportAllocs()
	for b.Loop() {
		_ = LooksLikeUCS2Hex(s)
	}
}
