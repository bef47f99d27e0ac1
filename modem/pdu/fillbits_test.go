package pdu

import (
	"testing"

	"github.com/sim-modem-api/sim-modem-api/modem/gsm7"
)

// TestHeaderFillBits covers every fill-bit count 0..6 after a user data
// header: the text must start on the septet boundary that follows the
// header, checked with an independent bit reader.
func TestHeaderFillBits(t *testing.T) {
	const text = "Fill{}"
	septets, _ := gsm7.Encode(text)
	seen := map[int]bool{}
	for k := 0; k <= 6; k++ {
		ie := InformationElement{ID: 0x70, Data: make([]byte, k)}
		for i := range ie.Data {
			ie.Data[i] = byte(0xF0 + i)
		}
		h := 1 + 2 + k // UDHL + IEI + IEDL + data
		fill := (7 - h*8%7) % 7
		seen[fill] = true
		hs := (h*8 + fill) / 7
		d := Deliver{Originator: intl("+1"), Timestamp: ts(2024, 1, 1, 0, 0, 0, 0), UD: UserData{Header: []InformationElement{ie}, Text: text}}
		b, err := d.Encode()
		if err != nil {
			t.Fatalf("%d fill bits: %v", fill, err)
		}
		body := b[len(b)-gsm7.PackedLen(hs+len(septets), 0):]
		if udl := int(b[len(b)-len(body)-1]); udl != hs+len(septets) {
			t.Fatalf("%d fill bits: UDL %d, want %d", fill, udl, hs+len(septets))
		}
		if int(body[0]) != h-1 || body[1] != 0x70 || int(body[2]) != k {
			t.Fatalf("%d fill bits: header % X", fill, body[:h])
		}
		for i, want := range septets {
			var got byte
			for bit := 0; bit < 7; bit++ {
				pos := 7*(hs+i) + bit
				if body[pos/8]>>(pos%8)&1 != 0 {
					got |= 1 << bit
				}
			}
			if got != want {
				t.Fatalf("%d fill bits: septet %d = %#x, want %#x", fill, i, got, want)
			}
		}
		for bit := 8 * h; bit < 8*h+fill; bit++ {
			if body[bit/8]>>(bit%8)&1 != 0 {
				t.Fatalf("%d fill bits: fill bit %d set", fill, bit)
			}
		}
		back, err := DecodeDeliver(b)
		if err != nil {
			t.Fatalf("%d fill bits: %v", fill, err)
		}
		if err := same(*back, d); err != nil {
			t.Fatalf("%d fill bits: %v", fill, err)
		}
	}
	if len(seen) != 7 {
		t.Fatalf("fill bit counts covered: %v", seen)
	}
}
