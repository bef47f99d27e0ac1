package pdu

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// tpduSeeds returns the TPDUs of all vectors (SMSC prefix removed).
func tpduSeeds(f *testing.F) [][]byte {
	var out [][]byte
	add := func(h string, smsc bool) {
		b := mustHex(f, h)
		if smsc {
			_, tpdu, err := SplitSMSC(b)
			if err != nil {
				f.Fatalf("seed %s: %v", h, err)
			}
			b = tpdu
		}
		out = append(out, b)
	}
	for _, v := range submitVectors {
		add(v.hex, true)
	}
	for _, v := range deliverVectors {
		add(v.hex, true)
	}
	for _, v := range statusVectors {
		add(v.hex, v.smsc != nil)
	}
	return out
}

// FuzzDecodeSubmit: never panics; what decodes re-encodes, and the
// re-encoding decodes to the same value.
func FuzzDecodeSubmit(f *testing.F) {
	for _, b := range tpduSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSubmit(b)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		enc, err := s.Encode()
		if err != nil {
			t.Fatalf("Encode(DecodeSubmit(%X)): %v", b, err)
		}
		again, err := DecodeSubmit(enc)
		if err != nil {
			t.Fatalf("DecodeSubmit(%X) (re-encoded from %X): %v", enc, b, err)
		}
		if err := same(*again, *s); err != nil {
			t.Fatalf("round trip of %X: %v", b, err)
		}
	})
}

// FuzzDecodeDeliver: as FuzzDecodeSubmit for SMS-DELIVER.
func FuzzDecodeDeliver(f *testing.F) {
	for _, b := range tpduSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDeliver(b)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		enc, err := d.Encode()
		if err != nil {
			t.Fatalf("Encode(DecodeDeliver(%X)): %v", b, err)
		}
		again, err := DecodeDeliver(enc)
		if err != nil {
			t.Fatalf("DecodeDeliver(%X) (re-encoded from %X): %v", enc, b, err)
		}
		if err := same(*again, *d); err != nil {
			t.Fatalf("round trip of %X: %v", b, err)
		}
	})
}

// FuzzDecodeStatusReport: as FuzzDecodeSubmit for SMS-STATUS-REPORT.
func FuzzDecodeStatusReport(f *testing.F) {
	for _, b := range tpduSeeds(f) {
		f.Add(b)
	}
	f.Add(mustHex(f, "06000B910221815716F2709021510121807090215101718000810740000568656C6C6F"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeStatusReport(b)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		enc, err := r.Encode()
		if err != nil {
			t.Fatalf("Encode(DecodeStatusReport(%X)): %v", b, err)
		}
		again, err := DecodeStatusReport(enc)
		if err != nil {
			t.Fatalf("DecodeStatusReport(%X) (re-encoded from %X): %v", enc, b, err)
		}
		if err := same(*again, *r); err != nil {
			t.Fatalf("round trip of %X: %v", b, err)
		}
	})
}

// FuzzDecodeMT: never panics and agrees with the specific decoders.
func FuzzDecodeMT(f *testing.F) {
	for _, b := range tpduSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeMT(b)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		switch m := v.(type) {
		case *Deliver:
			if b[0]&3 == mtiDeliver {
				d, err := DecodeDeliver(b)
				if err != nil || same(*d, *m) != nil {
					t.Fatalf("DecodeMT and DecodeDeliver disagree on %X: %v", b, err)
				}
			}
		case *StatusReport:
			r, err := DecodeStatusReport(b)
			if err != nil || same(*r, *m) != nil {
				t.Fatalf("DecodeMT and DecodeStatusReport disagree on %X: %v", b, err)
			}
		default:
			t.Fatalf("DecodeMT returned %T", v)
		}
	})
}

// FuzzSplitSMSC: never panics; the TPDU is the rest of the input and the
// address re-encodes to the same prefix semantics.
func FuzzSplitSMSC(f *testing.F) {
	for _, v := range submitVectors {
		f.Add(mustHex(f, v.hex))
	}
	for _, v := range deliverVectors {
		f.Add(mustHex(f, v.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, tpdu, err := SplitSMSC(b)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if len(tpdu) > len(b) || !bytes.HasSuffix(b, tpdu) {
			t.Fatalf("TPDU %X is not the tail of %X", tpdu, b)
		}
		pre, err := EncodeSMSC(a)
		if err != nil {
			t.Fatalf("EncodeSMSC(%+v): %v", a, err)
		}
		a2, rest, err := SplitSMSC(append(pre, 0x42))
		if err != nil || a2 != a || !bytes.Equal(rest, []byte{0x42}) {
			t.Fatalf("SMSC %+v round trip: %+v %X %v", a, a2, rest, err)
		}
	})
}

// FuzzSplitText: parts re-joined equal the input, every part fits one PDU
// and survives Submit encode/decode.
func FuzzSplitText(f *testing.F) {
	f.Add("hellohello", uint16(0), false)
	f.Add(strings.Repeat("a", 152)+"€"+strings.Repeat("b", 20), uint16(300), false)
	f.Add(strings.Repeat("あ", 66)+"😀"+strings.Repeat("x", 20), uint16(300), true)
	f.Add("", uint16(1), true)
	f.Fuzz(func(t *testing.T, text string, ref uint16, ref16 bool) {
		alpha, parts, err := SplitText(text, ref, ref16)
		if err != nil {
			if !utf8.ValidString(text) && errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooManyParts) {
				return
			}
			t.Fatalf("SplitText(%q): %v", text, err)
		}
		if got := joinText(parts); got != text {
			t.Fatalf("joined %q, want %q", got, text)
		}
		for i, ud := range parts {
			s := Submit{Destination: Address{Number: "1", NPI: NPIISDN}, DCS: NewDCS(alpha, -1), UD: ud}
			b, err := s.Encode()
			if err != nil {
				t.Fatalf("part %d of %q: %v", i+1, text, err)
			}
			back, err := DecodeSubmit(b)
			if err != nil {
				t.Fatalf("part %d decode: %v", i+1, err)
			}
			if back.UD.Text != ud.Text {
				t.Fatalf("part %d: %q, want %q", i+1, back.UD.Text, ud.Text)
			}
		}
	})
}

// FuzzParseAddress: never panics; what parses encodes and decodes back.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"+4366012345", "Bank", "*100#", "", "+", "ABCDEFGHIJK", "a[]{}€"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidAddress) {
				t.Fatalf("ParseAddress(%q): error %v does not wrap ErrInvalidAddress", s, err)
			}
			return
		}
		b, err := encodeAddress(a)
		if err != nil {
			t.Fatalf("encode %+v: %v", a, err)
		}
		back, err := decodeAddress(&reader{b: b}, "TP-DA")
		if err != nil || back != a {
			t.Fatalf("decode %X = %+v, %v; want %+v", b, back, err, a)
		}
	})
}

// checkDecodeError fails unless err is a *DecodeError wrapping a sentinel.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
	}
	for _, s := range []error{ErrTruncated, ErrTrailing, ErrInvalid, ErrWrongType, ErrInvalidAddress, ErrTooLong} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error %v wraps no sentinel", err)
}
