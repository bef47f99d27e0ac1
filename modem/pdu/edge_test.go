package pdu

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/sim-modem-api/sim-modem-api/modem/gsm7"
)

func joinText(parts []UserData) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// encodeParts builds a Submit per part and checks that each encodes, that
// the UDL stays within limits and that the decoded part is the same.
func encodeParts(t *testing.T, alpha Alphabet, parts []UserData) {
	t.Helper()
	for i, ud := range parts {
		s := Submit{Destination: intl("+4366012345"), DCS: NewDCS(alpha, -1), UD: ud}
		b, err := s.Encode()
		if err != nil {
			t.Fatalf("part %d: Encode: %v", i+1, err)
		}
		back, err := DecodeSubmit(b)
		if err != nil {
			t.Fatalf("part %d: DecodeSubmit: %v", i+1, err)
		}
		if err := same(*back, s); err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		if len(parts) > 1 {
			c, ok := back.UD.Concat()
			if !ok || c.Seq != i+1 || c.Total != len(parts) {
				t.Fatalf("part %d: Concat = %+v, %v", i+1, c, ok)
			}
		}
	}
}

func TestSplitText(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		ref16 bool
		alpha Alphabet
		sizes []int // septets or UTF-16 code units per part
	}{
		{"empty", "", false, AlphabetGSM7, []int{0}},
		{"160 septets", strings.Repeat("a", 160), false, AlphabetGSM7, []int{160}},
		{"161 septets", strings.Repeat("a", 161), false, AlphabetGSM7, []int{153, 8}},
		{"161 septets 16-bit ref", strings.Repeat("a", 161), true, AlphabetGSM7, []int{152, 9}},
		{"80 euro signs fit", strings.Repeat("€", 80), false, AlphabetGSM7, []int{160}},
		{"escape at the boundary", strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10), false, AlphabetGSM7, []int{152, 12}},
		{"escape just fits", strings.Repeat("a", 151) + "€" + strings.Repeat("b", 10), false, AlphabetGSM7, []int{153, 10}},
		{"306 septets", strings.Repeat("x", 306), false, AlphabetGSM7, []int{153, 153}},
		{"70 UCS-2", strings.Repeat("あ", 70), false, AlphabetUCS2, []int{70}},
		{"71 UCS-2", strings.Repeat("あ", 71), false, AlphabetUCS2, []int{67, 4}},
		{"71 UCS-2 16-bit ref", strings.Repeat("あ", 71), true, AlphabetUCS2, []int{66, 5}},
		{"35 emoji fit", strings.Repeat("😀", 35), false, AlphabetUCS2, []int{70}},
		{"emoji at the boundary", strings.Repeat("あ", 66) + "😀" + "x" + strings.Repeat("あ", 5), false, AlphabetUCS2, []int{66, 8}},
		{"one non-GSM char makes it UCS-2", strings.Repeat("a", 100) + "ç", false, AlphabetUCS2, []int{67, 34}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alpha, parts, err := SplitText(tc.text, 0x1234, tc.ref16)
			if err != nil {
				t.Fatal(err)
			}
			if alpha != tc.alpha {
				t.Errorf("alphabet %v, want %v", alpha, tc.alpha)
			}
			var sizes []int
			for _, p := range parts {
				n := len(utf16.Encode([]rune(p.Text)))
				if alpha == AlphabetGSM7 {
					n = septetCount(t, p.Text)
				}
				sizes = append(sizes, n)
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tc.sizes) {
				t.Errorf("part sizes %v, want %v", sizes, tc.sizes)
			}
			if got := joinText(parts); got != tc.text {
				t.Errorf("joined parts differ from the text")
			}
			if len(parts) == 1 && parts[0].Header != nil {
				t.Errorf("single part has a header")
			}
			for i, p := range parts {
				if len(parts) == 1 {
					break
				}
				c, ok := p.Concat()
				want := Concat{Ref: 0x34, Total: len(parts), Seq: i + 1}
				if tc.ref16 {
					want = Concat{Ref: 0x1234, Total: len(parts), Seq: i + 1, Ref16: true}
				}
				if !ok || c != want {
					t.Errorf("part %d: Concat = %+v, %v; want %+v", i+1, c, ok, want)
				}
			}
			encodeParts(t, alpha, parts)
		})
	}
}

func septetCount(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, r := range s {
		_, k := gsm7.Septets(r)
		if k == 0 {
			t.Fatalf("%q not GSM", r)
		}
		n += k
	}
	return n
}

func TestSplitTextPartLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		ref16 bool
		parts int
	}{
		{"GSM 255 parts", strings.Repeat("a", 153*255), false, 255},
		{"GSM 256 parts", strings.Repeat("a", 153*255+1), false, 0},
		{"GSM 16-bit 255 parts", strings.Repeat("a", 152*255), true, 255},
		{"GSM 16-bit 256 parts", strings.Repeat("a", 152*255+1), true, 0},
		{"UCS-2 255 parts", strings.Repeat("あ", 67*255), false, 255},
		{"UCS-2 256 parts", strings.Repeat("あ", 67*255+1), false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, parts, err := SplitText(tc.text, 7, tc.ref16)
			if tc.parts == 0 {
				if !errors.Is(err, ErrTooManyParts) {
					t.Fatalf("err = %v, want ErrTooManyParts", err)
				}
				return
			}
			if err != nil || len(parts) != tc.parts {
				t.Fatalf("%d parts, %v; want %d", len(parts), err, tc.parts)
			}
		})
	}
	if _, _, err := SplitText("a\xffb", 0, false); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid UTF-8: err = %v", err)
	}
}

func TestSplitData(t *testing.T) {
	data := bytes.Repeat([]byte{0xA5}, 300)
	for _, tc := range []struct {
		n     int
		ref16 bool
		sizes string
	}{
		{0, false, "[0]"},
		{140, false, "[140]"},
		{141, false, "[134 7]"},
		{141, true, "[133 8]"},
		{268, false, "[134 134]"},
	} {
		parts, err := SplitData(data[:tc.n], 300, tc.ref16)
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int
		var joined []byte
		for _, p := range parts {
			sizes = append(sizes, len(p.Data))
			joined = append(joined, p.Data...)
		}
		if fmt.Sprint(sizes) != tc.sizes || !bytes.Equal(joined, data[:tc.n]) {
			t.Errorf("SplitData(%d, ref16 %v) sizes %v, want %s", tc.n, tc.ref16, sizes, tc.sizes)
		}
		encodeParts(t, Alphabet8Bit, parts)
	}
	if _, err := SplitData(make([]byte, 134*255+1), 0, false); !errors.Is(err, ErrTooManyParts) {
		t.Errorf("256 parts: err = %v", err)
	}
	if parts, err := SplitData(make([]byte, 134*255), 0, false); err != nil || len(parts) != 255 {
		t.Errorf("255 parts: %d, %v", len(parts), err)
	}
}

func TestUserDataLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		dcs  DCS
		ud   UserData
		err  error
	}{
		{"160 septets", 0x00, UserData{Text: strings.Repeat("a", 160)}, nil},
		{"161 septets", 0x00, UserData{Text: strings.Repeat("a", 161)}, ErrTooLong},
		{"80 escapes", 0x00, UserData{Text: strings.Repeat("{", 80)}, nil},
		{"81 escapes", 0x00, UserData{Text: strings.Repeat("{", 81)}, ErrTooLong},
		{"153 septets + concat header", 0x00, UserData{Header: []InformationElement{ConcatIE(Concat{Ref: 1, Total: 2, Seq: 1})}, Text: strings.Repeat("a", 153)}, nil},
		// A header and no text: TP-UD still ends in the octet that holds
		// the fill bits (7 septets, 7 octets; found by FuzzDecodeSubmit).
		{"concat header, no text", 0x00, UserData{Header: []InformationElement{ConcatIE(Concat{Ref: 1, Total: 2, Seq: 2})}}, nil},
		{"154 septets + concat header", 0x00, UserData{Header: []InformationElement{ConcatIE(Concat{Ref: 1, Total: 2, Seq: 1})}, Text: strings.Repeat("a", 154)}, ErrTooLong},
		{"70 UCS-2", 0x08, UserData{Text: strings.Repeat("あ", 70)}, nil},
		{"71 UCS-2", 0x08, UserData{Text: strings.Repeat("あ", 71)}, ErrTooLong},
		{"140 octets", 0x04, UserData{Data: make([]byte, 140)}, nil},
		{"141 octets", 0x04, UserData{Data: make([]byte, 141)}, ErrTooLong},
		{"GSM text not encodable", 0x00, UserData{Text: "😀"}, nil},
		{"Text with 8-bit DCS", 0x04, UserData{Text: "x"}, ErrInvalid},
		{"Data with GSM DCS", 0x00, UserData{Data: []byte{1}}, ErrInvalid},
		{"IE too long", 0x04, UserData{Header: []InformationElement{{ID: 0x70, Data: make([]byte, 256)}}}, ErrTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Submit{Destination: intl("+1"), DCS: tc.dcs, UD: tc.ud}
			b, err := s.Encode()
			var ee *EncodeError
			if tc.name == "GSM text not encodable" {
				if !errors.As(err, &ee) || ee.Field != "TP-UD" {
					t.Fatalf("err = %v, want *EncodeError for TP-UD", err)
				}
				return
			}
			if !errors.Is(err, tc.err) && !(tc.err == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				if !errors.As(err, &ee) {
					t.Fatalf("err %v is not an *EncodeError", err)
				}
				return
			}
			back, err := DecodeSubmit(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := same(*back, s); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestTimestamps(t *testing.T) {
	for _, tc := range []struct {
		t   time.Time
		hex string
	}{
		// python-gsmmodem TestTimestamp vectors.
		{ts(2015, 11, 27, 0, 0, 0, 0), "51117200000000"},
		{ts(2015, 11, 27, 0, 0, 0, 8), "51117200000080"},
		{ts(2007, 4, 12, 23, 25, 42, 32), "70402132522423"},
		{ts(2007, 4, 12, 23, 25, 42, -32), "7040213252242B"},
		// Quarter-hour zones: Nepal +5:45, Newfoundland -3:30, Chatham +13:45 (DST).
		{ts(2024, 2, 29, 9, 5, 7, 23), "42209290507032"},
		{ts(2024, 2, 29, 9, 5, 7, -14), "42209290507049"},
		{ts(2089, 12, 31, 23, 59, 59, 55), "98211332959555"},
		{ts(1990, 1, 1, 0, 0, 0, -79), "09101000000097"[:12] + "9F"},
		{time.Time{}, "00000000000000"},
	} {
		b, err := encodeTimestamp(tc.t)
		if err != nil {
			t.Errorf("encode %v: %v", tc.t, err)
			continue
		}
		if got := fmt.Sprintf("%X", b); got != tc.hex {
			t.Errorf("encode %v = %s, want %s", tc.t, got, tc.hex)
		}
		back, err := decodeTimestamp(mustHex(t, tc.hex))
		if err != nil {
			t.Errorf("decode %s: %v", tc.hex, err)
			continue
		}
		if err := same(back, tc.t); err != nil {
			t.Errorf("decode %s: %v", tc.hex, err)
		}
	}
	// A time in any location keeps its offset.
	ny, err := time.LoadLocation("America/New_York")
	if err == nil {
		b, _ := encodeTimestamp(time.Date(2025, 7, 4, 12, 0, 0, 0, ny))
		if back, _ := decodeTimestamp(b); back.Hour() != 12 || offset(back) != -4*3600 {
			t.Errorf("New York time decoded as %v", back)
		}
	}
	// An offset that is no whole quarter hour is encoded in UTC, same instant.
	odd := time.Date(2020, 5, 1, 12, 0, 0, 0, time.FixedZone("LMT", 3600+7*60))
	b, _ := encodeTimestamp(odd)
	if back, _ := decodeTimestamp(b); !back.Equal(odd) || offset(back) != 0 {
		t.Errorf("odd offset: %v, want %v in UTC", back, odd)
	}
	// Sub-second precision is dropped.
	if b, _ := encodeTimestamp(ts(2020, 1, 2, 3, 4, 5, 0).Add(999 * time.Millisecond)); fmt.Sprintf("%X", b) != "02102030405000" {
		t.Errorf("sub-second: %X", b)
	}
	for _, bad := range []time.Time{ts(1989, 12, 31, 0, 0, 0, 0), ts(2090, 1, 1, 0, 0, 0, 0)} {
		if _, err := encodeTimestamp(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("encode %v: err = %v", bad, err)
		}
	}
	for _, bad := range []string{"02133030405000", "021020304050A0", "0210203040500A"[:12] + "A0", "0220030405060"} {
		if _, err := decodeTimestamp(mustHexLoose(bad)); err == nil {
			t.Errorf("decode %s: no error", bad)
		}
	}
}

func mustHexLoose(s string) []byte {
	var b []byte
	for i := 0; i+1 < len(s); i += 2 {
		var v byte
		fmt.Sscanf(s[i:i+2], "%02X", &v)
		b = append(b, v)
	}
	return b
}

func offset(t time.Time) int { _, o := t.Zone(); return o }

func TestRelativeValidity(t *testing.T) {
	for _, tc := range []struct {
		d  time.Duration
		vp byte
	}{
		// python-gsmmodem TestRelativeValidityPeriod vectors and the range ends.
		{30 * time.Minute, 5},
		{16 * time.Hour, 151},
		{3 * 24 * time.Hour, 169},
		{5 * 7 * 24 * time.Hour, 197},
		{5 * time.Minute, 0},
		{time.Second, 0},
		{12 * time.Hour, 143},
		{24 * time.Hour, 167},
		{30 * 24 * time.Hour, 196},
		{63 * 7 * 24 * time.Hour, 255},
		{1000 * 7 * 24 * time.Hour, 255},
		{7*time.Minute + 29*time.Second, 0},  // nearer 5 min
		{7*time.Minute + 30*time.Second, 1},  // tie → longer
		{31 * 24 * time.Hour, 196},           // 30 days is nearer than 5 weeks
		{33 * 24 * time.Hour, 197},           // 5 weeks is nearer
		{4*24*time.Hour + 11*time.Hour, 170}, // 4 days
	} {
		if got := encodeRelativeValidity(tc.d); got != tc.vp {
			t.Errorf("encode %v = %d, want %d", tc.d, got, tc.vp)
		}
	}
	if got := RelativeValidity(40 * time.Hour); got != 2*24*time.Hour {
		t.Errorf("RelativeValidity(40h) = %v", got)
	}
	for vp := 0; vp < 256; vp++ {
		if got := encodeRelativeValidity(relativeValidity(byte(vp))); got != byte(vp) {
			t.Errorf("VP %d round trips to %d", vp, got)
		}
	}
	s := Submit{Destination: intl("+1"), Validity: time.Hour, ValidityAbsolute: ts(2020, 1, 1, 0, 0, 0, 0)}
	if _, err := s.Encode(); !errors.Is(err, ErrInvalid) {
		t.Errorf("two validity formats: err = %v", err)
	}
	s = Submit{Destination: intl("+1"), ValidityEnhanced: []byte{1, 2}}
	if _, err := s.Encode(); !errors.Is(err, ErrInvalid) {
		t.Errorf("short enhanced validity: err = %v", err)
	}
	s = Submit{Destination: intl("+1"), ValidityEnhanced: []byte{0x01, 0xAA, 0, 0, 0, 0, 0}, UD: UserData{Text: "x"}}
	b, err := s.Encode()
	if err != nil || b[0]&0x18 != vpfEnhanced {
		t.Fatalf("enhanced: %X, %v", b, err)
	}
	back, err := DecodeSubmit(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := same(*back, s); err != nil {
		t.Fatal(err)
	}
}

func TestAddresses(t *testing.T) {
	for _, tc := range []struct {
		a   Address
		hex string
	}{
		// Device::Gsm (Perl) and python-gsmmodem address vectors.
		{intl("+393289287791"), "0C91932398827719"},
		{Address{Number: "3289287791", NPI: NPIISDN}, "0A812398827719"},
		{intl("+39347101010"), "0B919343171010F0"},
		{intl("+9876543210"), "0A918967452301"},
		{Address{Number: "0129998765", TON: TONNational, NPI: NPIISDN}, "0AA11092997856"},
		{Address{Number: "abc", TON: TONAlphanumeric}, "06D061F118"},
		{Address{Number: "FRANCOIS", TON: TONAlphanumeric}, "0ED04669D0397C26A7"},
		{Address{Number: "a[]{}€", TON: TONAlphanumeric}, "14D0E10D6FE3DBA036A94D19"},
		{Address{Number: "*100#", NPI: NPIISDN}, "05811A00FB"},
		{Address{}, "0080"},
	} {
		b, err := encodeAddress(tc.a)
		if err != nil {
			t.Errorf("encode %+v: %v", tc.a, err)
			continue
		}
		if got := fmt.Sprintf("%X", b); got != tc.hex {
			t.Errorf("encode %+v = %s, want %s", tc.a, got, tc.hex)
		}
		back, err := decodeAddress(&reader{b: b}, "TP-DA")
		if err != nil || back != tc.a {
			t.Errorf("decode %s = %+v, %v; want %+v", tc.hex, back, err, tc.a)
		}
	}
	// Alphanumeric of every length 1..11, odd and even semi-octet counts.
	for n := 1; n <= 11; n++ {
		a := Address{Number: "ABCDEFGHIJK"[:n], TON: TONAlphanumeric}
		b, err := encodeAddress(a)
		if err != nil {
			t.Fatal(err)
		}
		if semi := int(b[0]); semi != (7*n+3)/4 || len(b) != 2+(semi+1)/2 {
			t.Errorf("%d chars: length %d semi-octets, %d octets", n, semi, len(b))
		}
		back, err := decodeAddress(&reader{b: b}, "TP-OA")
		if err != nil || back != a {
			t.Errorf("%d chars: %+v, %v", n, back, err)
		}
	}
	for _, bad := range []Address{
		{Number: "ABCDEFGHIJKL", TON: TONAlphanumeric},
		{Number: "ABCDEFGHIJ€", TON: TONAlphanumeric},
		{Number: "123456789012345678901", NPI: NPIISDN},
		{Number: "12x", NPI: NPIISDN},
		{Number: "1", TON: 8},
		{Number: "1", NPI: 16},
		{Number: "😀", TON: TONAlphanumeric},
	} {
		if _, err := encodeAddress(bad); err == nil {
			t.Errorf("encode %+v: no error", bad)
		}
	}
}

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Address
		err  bool
	}{
		{"+4366012345", intl("+4366012345"), false},
		{" +43 660 123-45 ", intl("+4366012345"), false},
		{"+1 (555) 123.4567", intl("+15551234567"), false},
		{"066012345", Address{Number: "066012345", NPI: NPIISDN}, false},
		{"*100#", Address{Number: "*100#", NPI: NPIISDN}, false},
		{"Bank", Address{Number: "Bank", TON: TONAlphanumeric}, false},
		{"Tele2", Address{Number: "Tele2", TON: TONAlphanumeric}, false},
		{"ABCDEFGHIJK", Address{Number: "ABCDEFGHIJK", TON: TONAlphanumeric}, false},
		{"ABCDEFGHIJ€", Address{}, true}, // 12 septets
		{"ABCDEFGHIJKL", Address{}, true},
		{"", Address{}, true},
		{"   ", Address{}, true},
		{"+", Address{}, true},
		{"+43abc", Address{}, true},
		{"+123456789012345678901", Address{}, true},
		{"123456789012345678901", Address{}, true},
		{"Bank😀", Address{}, true},
	} {
		got, err := ParseAddress(tc.in)
		if tc.err {
			if !errors.Is(err, ErrInvalidAddress) {
				t.Errorf("ParseAddress(%q) err = %v, want ErrInvalidAddress", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseAddress(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if _, err := encodeAddress(got); err != nil {
			t.Errorf("ParseAddress(%q) gave an unencodable %+v: %v", tc.in, got, err)
		}
	}
	if _, err := ParseAddress("ABCDEFGHIJKL"); !errors.Is(err, ErrTooLong) {
		t.Errorf("too long alphanumeric: err = %v, want ErrTooLong too", err)
	}
}

func TestSMSC(t *testing.T) {
	if b, err := EncodeSMSC(Address{}); err != nil || !bytes.Equal(b, []byte{0}) {
		t.Fatalf("EncodeSMSC(zero) = %X, %v", b, err)
	}
	a, rest, err := SplitSMSC([]byte{0x00, 0x11, 0x22})
	if err != nil || a != (Address{}) || !bytes.Equal(rest, []byte{0x11, 0x22}) {
		t.Fatalf("SplitSMSC(00…) = %+v, %X, %v", a, rest, err)
	}
	// python-gsmmodem SMSC vectors.
	for _, tc := range []struct {
		num, hex string
	}{
		{"+9876543210", "06918967452301"},
		{"+987654321", "069189674523F1"},
		{"+2782913593", "06917228195339"},
	} {
		b, err := EncodeSMSC(intl(tc.num))
		if err != nil || fmt.Sprintf("%X", b) != tc.hex {
			t.Errorf("EncodeSMSC(%s) = %X, %v; want %s", tc.num, b, err, tc.hex)
		}
		a, rest, err := SplitSMSC(append(b, 0x04))
		if err != nil || a != intl(tc.num) || !bytes.Equal(rest, []byte{0x04}) {
			t.Errorf("SplitSMSC(%s) = %+v, %X, %v", tc.hex, a, rest, err)
		}
	}
	for _, bad := range []string{"", "07", "0791", "0C91000000000000000000000000", "02D041", "0391F1F2"} {
		if _, _, err := SplitSMSC(mustHexLoose(bad)); err == nil {
			t.Errorf("SplitSMSC(%s): no error", bad)
		}
	}
	if _, err := EncodeSMSC(Address{Number: "Bank", TON: TONAlphanumeric}); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("alphanumeric SMSC: err = %v", err)
	}
}

func TestDCS(t *testing.T) {
	for _, tc := range []struct {
		dcs        DCS
		alpha      Alphabet
		class      int // -1 none
		compressed bool
	}{
		{0x00, AlphabetGSM7, -1, false},
		{0x04, Alphabet8Bit, -1, false},
		{0x08, AlphabetUCS2, -1, false},
		{0x0C, Alphabet8Bit, -1, false}, // reserved alphabet → 8-bit
		{0x10, AlphabetGSM7, 0, false},  // flash
		{0x11, AlphabetGSM7, 1, false},
		{0x16, Alphabet8Bit, 2, false},
		{0x1B, AlphabetUCS2, 3, false},
		{0x20, Alphabet8Bit, -1, true}, // compressed GSM: kept as octets
		{0x48, AlphabetUCS2, -1, false},
		{0x58, AlphabetUCS2, 0, false},
		{0x80, Alphabet8Bit, -1, false}, // reserved group
		{0xB8, Alphabet8Bit, -1, false},
		{0xC0, AlphabetGSM7, -1, false}, // MWI discard
		{0xD8, AlphabetGSM7, -1, false}, // MWI store, voicemail active
		{0xE0, AlphabetUCS2, -1, false}, // MWI store UCS-2
		{0xF0, AlphabetGSM7, 0, false},
		{0xF1, AlphabetGSM7, 1, false},
		{0xF6, Alphabet8Bit, 2, false},
		{0xFF, Alphabet8Bit, 3, false},
	} {
		if got := tc.dcs.Alphabet(); got != tc.alpha {
			t.Errorf("DCS %#02x Alphabet = %v, want %v", byte(tc.dcs), got, tc.alpha)
		}
		c, ok := tc.dcs.Class()
		if (tc.class >= 0) != ok || ok && c != tc.class {
			t.Errorf("DCS %#02x Class = %d,%v, want %d", byte(tc.dcs), c, ok, tc.class)
		}
		if tc.dcs.Compressed() != tc.compressed {
			t.Errorf("DCS %#02x Compressed = %v", byte(tc.dcs), !tc.compressed)
		}
	}
	if kind, active, store, ok := DCS(0xD8).MessageWaiting(); !ok || kind != 0 || !active || !store {
		t.Errorf("0xD8 MessageWaiting = %d %v %v %v", kind, active, store, ok)
	}
	if _, _, store, ok := DCS(0xC3).MessageWaiting(); !ok || store {
		t.Errorf("0xC3 MessageWaiting store=%v ok=%v", store, ok)
	}
	if _, _, _, ok := DCS(0x00).MessageWaiting(); ok {
		t.Errorf("0x00 has a message waiting indication")
	}
	for _, tc := range []struct {
		a     Alphabet
		class int
		want  DCS
	}{
		{AlphabetGSM7, -1, 0x00}, {AlphabetUCS2, -1, 0x08}, {Alphabet8Bit, -1, 0x04},
		{AlphabetGSM7, 0, 0x10}, {AlphabetUCS2, 0, 0x18}, {Alphabet8Bit, 1, 0x15},
		{AlphabetGSM7, 3, 0x13}, {AlphabetGSM7, 4, 0x00}, {Alphabet(9), -1, 0x04},
	} {
		d := NewDCS(tc.a, tc.class)
		if d != tc.want {
			t.Errorf("NewDCS(%v, %d) = %#02x, want %#02x", tc.a, tc.class, byte(d), byte(tc.want))
		}
		if tc.a <= AlphabetUCS2 && d.Alphabet() != tc.a {
			t.Errorf("NewDCS(%v, %d).Alphabet() = %v", tc.a, tc.class, d.Alphabet())
		}
	}
}

func TestConcatIE(t *testing.T) {
	// python-gsmmodem TestUdhConcatenation vectors.
	for _, tc := range []struct {
		c   Concat
		hex string
	}{
		{Concat{Ref: 23, Total: 3, Seq: 1}, "0003170301"},
		{Concat{Ref: 384, Total: 4, Seq: 2, Ref16: true}, "080401800402"},
	} {
		ie := ConcatIE(tc.c)
		if got := fmt.Sprintf("%02X%02X%X", ie.ID, len(ie.Data), ie.Data); got != tc.hex {
			t.Errorf("ConcatIE(%+v) = %s, want %s", tc.c, got, tc.hex)
		}
		if c, ok := (UserData{Header: []InformationElement{ie}}).Concat(); !ok || c != tc.c {
			t.Errorf("Concat() = %+v, %v", c, ok)
		}
	}
	for _, ies := range [][]InformationElement{
		nil,
		{{ID: 0x00, Data: []byte{1, 0, 0}}},    // zero parts
		{{ID: 0x00, Data: []byte{1, 2, 3}}},    // seq > total
		{{ID: 0x00, Data: []byte{1, 2}}},       // short
		{{ID: 0x08, Data: []byte{1, 2, 3}}},    // short 16-bit
		{{ID: 0x05, Data: []byte{1, 2, 3, 4}}}, // port addressing, not concat
	} {
		if c, ok := (UserData{Header: ies}).Concat(); ok {
			t.Errorf("Concat of %v = %+v, want none", ies, c)
		}
	}
	// A valid element after an invalid one is found.
	ud := UserData{Header: []InformationElement{{ID: 0x00, Data: []byte{1, 0, 0}}, {ID: 0x08, Data: []byte{0, 9, 2, 2}}}}
	if c, ok := ud.Concat(); !ok || c != (Concat{Ref: 9, Total: 2, Seq: 2, Ref16: true}) {
		t.Errorf("Concat = %+v, %v", c, ok)
	}
}

func TestStatusReportOptionalFields(t *testing.T) {
	base := StatusReport{
		MessageRef: 7, Recipient: intl("+4366012345"),
		SCTimestamp: ts(2024, 5, 6, 7, 8, 9, 8), DischargeTime: ts(2024, 5, 6, 7, 8, 19, 8), Status: StatusValidityExpired,
	}
	for _, tc := range []struct {
		name string
		mod  func(*StatusReport)
		pi   int // -1: no TP-PI
	}{
		{"none", func(*StatusReport) {}, -1},
		{"PID", func(r *StatusReport) { r.HasPID, r.PID = true, 0x40 }, 0x01},
		{"DCS", func(r *StatusReport) { r.HasDCS, r.DCS = true, 0x08 }, 0x02},
		{"UD GSM", func(r *StatusReport) { r.HasUD, r.UD = true, UserData{Text: "expired"} }, 0x04},
		{"all UCS-2 with header", func(r *StatusReport) {
			r.HasPID, r.HasDCS, r.DCS, r.HasUD = true, true, 0x08, true
			r.UD = UserData{Header: []InformationElement{ConcatIE(Concat{Ref: 1, Total: 1, Seq: 1})}, Text: "Zustellung"}
		}, 0x07},
		{"SMS-COMMAND qualifier, more messages", func(r *StatusReport) { r.Qualifier, r.MoreMessagesToSend = true, true }, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			tc.mod(&r)
			b, err := r.Encode()
			if err != nil {
				t.Fatal(err)
			}
			const piOffset = 2 + 7 + 7 + 7 + 1 // fo, MR, RA (2+5), SCTS, DT, ST
			if tc.pi < 0 && len(b) != piOffset {
				t.Fatalf("no optional fields but %d octets", len(b))
			}
			if tc.pi >= 0 && int(b[piOffset]) != tc.pi {
				t.Fatalf("TP-PI = %#02x, want %#02x", b[piOffset], tc.pi)
			}
			back, err := DecodeStatusReport(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := same(*back, r); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Extension TP-PI octets are skipped; TP-PI 0 carries nothing.
	b, _ := base.Encode()
	back, err := DecodeStatusReport(append(append([]byte{}, b...), 0x81, 0x00, 0x40))
	if err != nil || !back.HasPID || back.PID != 0x40 {
		t.Fatalf("extended TP-PI: %+v, %v", back, err)
	}
	if _, err := DecodeStatusReport(append(append([]byte{}, b...), 0x00, 0x00)); !errors.Is(err, ErrTrailing) {
		t.Fatalf("octet after TP-PI 0: err = %v", err)
	}
}

func TestDecodeMTReservedIsDeliver(t *testing.T) {
	b := mustHex(t, "070BC87238880900F10000993092516195800AE8329BFD4697D9EC37")
	v, err := DecodeMT(b)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := v.(*Deliver)
	if !ok || d.UD.Text != "hellohello" {
		t.Fatalf("DecodeMT = %T %+v", v, v)
	}
	if _, err := DecodeDeliver(b); !errors.Is(err, ErrWrongType) {
		t.Fatalf("DecodeDeliver of MTI 3: err = %v", err)
	}
}

func TestStatusHelpers(t *testing.T) {
	for _, tc := range []struct {
		st                         byte
		final, delivered, failed   bool
		textContains, groupContain string
	}{
		{0x00, true, true, false, "received by the SME", "delivered"},
		{0x01, true, true, false, "unable to confirm", "delivered"},
		{0x02, true, true, false, "replaced", "delivered"},
		{0x05, true, true, false, "reserved", "delivered"},
		{0x18, true, true, false, "SC specific", "delivered"},
		{0x20, false, false, false, "congestion", "still trying"},
		{0x25, false, false, false, "error in SME", "still trying"},
		{0x30, false, false, false, "SC specific", "still trying"},
		{0x41, true, false, true, "incompatible destination", "permanent"},
		{0x46, true, false, true, "validity period expired", "permanent"},
		{0x49, true, false, true, "does not exist", "permanent"},
		{0x4A, true, false, true, "reserved", "permanent"},
		{0x62, true, false, true, "no response", "not trying any more"},
		{0x7F, true, false, true, "SC specific", "not trying any more"},
		{0x80, true, false, true, "reserved", "reserved"},
		{0xFF, true, false, true, "reserved", "reserved"},
	} {
		text := StatusText(tc.st)
		if !strings.Contains(text, tc.textContains) || !strings.Contains(text, tc.groupContain) {
			t.Errorf("StatusText(%#02x) = %q", tc.st, text)
		}
		if StatusFinal(tc.st) != tc.final || StatusDelivered(tc.st) != tc.delivered || StatusFailed(tc.st) != tc.failed {
			t.Errorf("%#02x: final %v delivered %v failed %v", tc.st, StatusFinal(tc.st), StatusDelivered(tc.st), StatusFailed(tc.st))
		}
	}
}

func TestFirstOctetFlags(t *testing.T) {
	s := Submit{RejectDuplicates: true, ReplyPath: true, StatusReportRequest: true, MessageRef: 0xFE, Destination: intl("+1"), PID: 0x41, DCS: 0x10, UD: UserData{Text: "x"}}
	b, err := s.Encode()
	if err != nil || b[0] != 0x80|0x20|0x04|0x01 {
		t.Fatalf("Submit first octet %#02x, %v", b[0], err)
	}
	d := Deliver{MoreMessagesToSend: true, ReplyPath: true, StatusReportIndication: true, Originator: intl("+1"), Timestamp: ts(2020, 1, 1, 0, 0, 0, 0)}
	b, err = d.Encode()
	if err != nil || b[0] != 0x80|0x20 {
		t.Fatalf("Deliver first octet %#02x, %v", b[0], err)
	}
	back, err := DecodeDeliver(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := same(*back, d); err != nil {
		t.Fatal(err)
	}
}
