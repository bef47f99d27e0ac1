package pdu

import (
	"strings"
	"testing"
)

const benchText = "Your parcel 4711 will be delivered today between 10:00 and 12:00. Reply STOP to opt out."

func BenchmarkSubmitEncode(b *testing.B) {
	s := Submit{MessageRef: 1, Destination: intl("+4366012345"), Validity: 24 * 60 * 60e9, UD: UserData{Text: benchText}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSubmit(b *testing.B) {
	s := Submit{MessageRef: 1, Destination: intl("+4366012345"), Validity: 24 * 60 * 60e9, UD: UserData{Text: benchText}}
	pdu, err := s.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeSubmit(pdu); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeDeliver(b *testing.B) {
	d := Deliver{Originator: intl("+4366012345"), Timestamp: ts(2025, 1, 2, 3, 4, 5, 4), UD: UserData{Text: benchText}}
	pdu, err := d.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeDeliver(pdu); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeDeliverUCS2(b *testing.B) {
	d := Deliver{Originator: intl("+4366012345"), DCS: 0x08, Timestamp: ts(2025, 1, 2, 3, 4, 5, 4), UD: UserData{Text: strings.Repeat("Grüße 😀 ", 7)}}
	pdu, err := d.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeDeliver(pdu); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitText10Parts(b *testing.B) {
	text := strings.Repeat("0123456789", 153) // 1530 septets: 10 parts of 153
	b.ReportAllocs()
	for b.Loop() {
		_, parts, err := SplitText(text, 1, false)
		if err != nil || len(parts) != 10 {
			b.Fatal(len(parts), err)
		}
	}
}

func BenchmarkSplitTextAndEncode10Parts(b *testing.B) {
	text := strings.Repeat("0123456789", 153)
	dest := intl("+4366012345")
	b.ReportAllocs()
	for b.Loop() {
		alpha, parts, err := SplitText(text, 1, false)
		if err != nil {
			b.Fatal(err)
		}
		for _, ud := range parts {
			s := Submit{Destination: dest, DCS: NewDCS(alpha, -1), UD: ud}
			if _, err := s.Encode(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
