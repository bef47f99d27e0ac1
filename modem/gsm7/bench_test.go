package gsm7

import (
	"strings"
	"testing"
)

var benchText = strings.Repeat("Hello {world} €5! ", 9)[:160]

func BenchmarkEncode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(benchText); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	s, _ := Encode(benchText)
	b.ReportAllocs()
	for b.Loop() {
		_ = Decode(s)
	}
}

func BenchmarkPack160(b *testing.B) {
	s := []byte(strings.Repeat("a", 160))
	b.ReportAllocs()
	for b.Loop() {
		_ = Pack(s, 0)
	}
}

func BenchmarkUnpack160(b *testing.B) {
	p := Pack([]byte(strings.Repeat("a", 160)), 0)
	b.ReportAllocs()
	for b.Loop() {
		_ = Unpack(p, 0, 160)
	}
}
