package pdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// ts builds a time in the zone the decoder produces, offset in quarter hours.
func ts(y, mo, d, h, mi, s, quarters int) time.Time {
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, zone(quarters*15*60))
}

func intl(n string) Address { return Address{Number: n, TON: TONInternational, NPI: NPIISDN} }

// same compares two decoded values field by field (times by instant, offset
// and zone name; nil and empty slices alike) via their %+v rendering.
func same(got, want any) error {
	g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want)
	if g != w {
		return fmt.Errorf("\n got %s\nwant %s", g, w)
	}
	return nil
}

// Vector sources (facts only, re-checked by hand against TS 23.040):
//   - docs/modem-facts.md PDU vectors (SUBMIT "hellohello", "あ叶葉", "世界您好！");
//   - the classic SMS-DELIVER "hellohello" of the PDU-mode tutorials
//     (dreamfabric / turbocontrol "SMS messages and the PDU format");
//   - python-gsmmodem test/test_pdu.py (SUBMIT/DELIVER/STATUS-REPORT captures,
//     including a status report captured from a ZTE modem);
//   - pdu_sms (Ruby) README: alphanumeric sender "Tele2";
//   - amro.blogspot.com "receiving an SMS status report message" (+CDS);
//   - 9cbs.com PDU length article (8-bit class 2 SUBMIT);
//   - gammu tests (concatenated DELIVER part 1/8).
var submitVectors = []struct {
	name string
	hex  string // SMSC address + TPDU
	smsc Address
	want Submit
}{
	{
		name: "facts hellohello relative VP",
		hex:  "0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
		want: Submit{Destination: intl("+46708251358"), Validity: 4 * 24 * time.Hour, UD: UserData{Text: "hellohello"}},
	},
	{
		name: "facts UCS-2 あ叶葉",
		hex:  "07914346466554F601000B914316565811F9000806304253F68449",
		smsc: intl("+34646456456"),
		want: Submit{Destination: intl("+34616585119"), DCS: 0x08, UD: UserData{Text: "あ叶葉"}},
	},
	{
		name: "facts UCS-2 世界您好！ 52 weeks",
		hex:  "07914400000000F01100099121436587F90008F40A4E16754C60A8597DFF01",
		smsc: intl("+44000000000"),
		want: Submit{Destination: intl("+123456789"), DCS: 0x08, Validity: 52 * 7 * 24 * time.Hour, UD: UserData{Text: "世界您好！"}},
	},
	{
		name: "gsmmodem Hello World",
		hex:  "0001000B917228001011F100000CC8329BFD065DDF72363904",
		want: Submit{Destination: intl("+27820001111"), UD: UserData{Text: "Hello World!"}},
	},
	{
		name: "gsmmodem national numbers SRR",
		hex:  "04A12143F5310D0AA110624521430000A91BD4F29C0E6A97E7F3F0B9AC03B1DFE3301BE4AEB7C565F91C",
		smsc: Address{Number: "12345", TON: TONNational, NPI: NPIISDN},
		want: Submit{
			StatusReportRequest: true, MessageRef: 13,
			Destination: Address{Number: "0126541234", TON: TONNational, NPI: NPIISDN},
			Validity:    3 * 24 * time.Hour, UD: UserData{Text: "Test message: local numbers"},
		},
	},
	{
		name: "gsmmodem absolute VP",
		hex:  "0019000B917228001011F100003170013193008017D474BB3CA787DB70903DCC4E93D3F43C885E9ED301",
		want: Submit{Destination: intl("+27820001111"), ValidityAbsolute: ts(2013, 7, 10, 13, 39, 0, 8), UD: UserData{Text: "Timestamp validity test"}},
	},
	{
		name: "gsmmodem diafaan",
		hex:  "07911326040000F0310D0B911326880736F40000A90FF7FBDD454E87CDE1B0DB357EB701",
		smsc: intl("+31624000000"),
		want: Submit{StatusReportRequest: true, MessageRef: 13, Destination: intl("+31628870634"), Validity: 3 * 24 * time.Hour, UD: UserData{Text: "www.diafaan.com"}},
	},
	{
		name: "gsmmodem 8-bit",
		hex:  "0591721891F101000B917228214365F700040C48656C6C6F20776F726C6421",
		smsc: intl("+2781191"),
		want: Submit{Destination: intl("+27821234567"), DCS: 0x04, UD: UserData{Data: []byte("Hello world!")}},
	},
	{
		name: "9cbs 8-bit class 2",
		hex:  "079194710167000011000781214365F700F6AA0568656C6C6F",
		smsc: intl("+491710760000"),
		want: Submit{Destination: Address{Number: "1234567", NPI: NPIISDN}, DCS: 0xF6, Validity: 4 * 24 * time.Hour, UD: UserData{Data: []byte("hello")}},
	},
	{
		name: "pdu_sms Hello!!!",
		hex:  "0001000B911732547698F0000008C8329BFD0E8542",
		want: Submit{Destination: intl("+71234567890"), UD: UserData{Text: "Hello!!!"}},
	},
}

var deliverVectors = []struct {
	name string
	hex  string
	smsc Address
	want Deliver
	// reencoded is the expected encoding when it differs from hex: the
	// capture may set bits that the encoder writes as zero.
	reencoded string
}{
	{
		name: "TS 23.040 tutorial hellohello, subscriber/national TOA C8",
		hex:  "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
		smsc: intl("+27381000015"),
		want: Deliver{
			Originator: Address{Number: "27838890001", TON: TONSubscriber, NPI: 8},
			Timestamp:  ts(1999, 3, 29, 15, 16, 59, 8), UD: UserData{Text: "hellohello"},
		},
	},
	{
		name: "gsmmodem Test2",
		hex:  "06917228195339040B917228214365F700003130805120618005D4F29C2E03",
		smsc: intl("+2782913593"),
		want: Deliver{Originator: intl("+27821234567"), Timestamp: ts(2013, 3, 8, 15, 2, 16, 8), UD: UserData{Text: "Test2"}},
	},
	{
		name: "gsmmodem +8h",
		hex:  "07915892000000F0040B915892214365F700007040213252242331493A283D0795C3F33C88FE06C9CB6132885EC6D341EDF27C1E3E97E7207B3A0C0A5241E377BB1D7693E72E",
		smsc: intl("+85290000000"),
		want: Deliver{Originator: intl("+85291234567"), Timestamp: ts(2007, 4, 12, 23, 25, 42, 32), UD: UserData{Text: "It is easy to read text messages via AT commands."}},
	},
	{
		name: "gsmmodem extension chars",
		hex:  "06917228195339040B917228214365F70000313062315352800A800D8A5E98D337A910",
		smsc: intl("+2782913593"),
		want: Deliver{Originator: intl("+27821234567"), Timestamp: ts(2013, 3, 26, 13, 35, 25, 8), UD: UserData{Text: "@{tést}!"}},
	},
	{
		name: "gsmmodem concatenated 1/1 with UDH",
		hex:  "0591721891F1400781721881F800003160526104848059050003C30101916536FB1DCABEEB2074D85E064941B19CAB060319A5C522289C96D3D3ED32286C0FA7D96131BBEC024941B19CAB0603DDD36C36A88C87A7E565D0DB0D82C55EB0DB4B068BCD5C20",
		smsc: intl("+2781191"),
		want: Deliver{
			MoreMessagesToSend: true,
			Originator:         Address{Number: "2781188", TON: TONUnknown, NPI: NPIISDN},
			Timestamp:          ts(2013, 6, 25, 16, 40, 48, 8),
			UD: UserData{
				Header: []InformationElement{{ID: IEConcat8, Data: []byte{0xC3, 0x01, 0x01}}},
				Text:   "Hello!You have R 19.50 FREE airtime available. R 19.50 will expire on 01/07/2013. ",
			},
		},
		// The sender set the fill bit after the header (0x91); it is
		// ignored on decode and written as zero (0x90), TS 23.040 §9.2.3.24.
		reencoded: "0591721891F1400781721881F800003160526104848059050003C30101906536FB1DCABEEB2074D85E064941B19CAB060319A5C522289C96D3D3ED32286C0FA7D96131BBEC024941B19CAB0603DDD36C36A88C87A7E565D0DB0D82C55EB0DB4B068BCD5C20",
	},
	{
		name: "pdu_sms alphanumeric Tele2",
		hex:  "07911732547698F00009D0D432BB2C0300005111713115142108E8329BFD0E8542",
		smsc: intl("+71234567890"),
		want: Deliver{
			MoreMessagesToSend: true,
			Originator:         Address{Number: "Tele2", TON: TONAlphanumeric, NPI: NPIUnknown},
			Timestamp:          ts(2015, 11, 17, 13, 51, 41, 12), UD: UserData{Text: "hello!!!"},
		},
	},
}

var statusVectors = []struct {
	name string
	hex  string
	smsc *Address // nil: the capture has no SMSC prefix
	want StatusReport
}{
	{
		name: "amro +CDS",
		hex:  "06000B910221815716F2709021510121807090215101718000",
		want: StatusReport{Recipient: intl("+20121875612"), SCTimestamp: ts(2007, 9, 12, 15, 10, 12, 8), DischargeTime: ts(2007, 9, 12, 15, 10, 17, 8), Status: StatusReceived},
	},
	{
		name: "gsmmodem status report",
		hex:  "0006D60B911326880736F4111011719551401110117195714000",
		smsc: &Address{},
		want: StatusReport{MessageRef: 214, Recipient: intl("+31628870634"), SCTimestamp: ts(2011, 1, 11, 17, 59, 15, 4), DischargeTime: ts(2011, 1, 11, 17, 59, 17, 4), Status: StatusReceived},
	},
	{
		// Captured from a ZTE modem: the recipient has a '#' digit (0xB)
		// and the SMSC TOA has NPI 7. It must decode, not fail.
		name: "gsmmodem ZTE capture",
		hex:  "0297F1061C0F910B487228297020F5317062419272803170624192138000",
		smsc: &Address{Number: "+1", TON: TONInternational, NPI: 7},
		want: StatusReport{MessageRef: 28, Recipient: intl("+#08427829207025"), SCTimestamp: ts(2013, 7, 26, 14, 29, 27, 8), DischargeTime: ts(2013, 7, 26, 14, 29, 31, 8), Status: StatusReceived},
	},
}

func splitOrWhole(t *testing.T, b []byte, hasSMSC bool) (Address, []byte) {
	t.Helper()
	if !hasSMSC {
		return Address{}, b
	}
	smsc, tpdu, err := SplitSMSC(b)
	if err != nil {
		t.Fatalf("SplitSMSC: %v", err)
	}
	return smsc, tpdu
}

func reencode(t *testing.T, smsc Address, hasSMSC bool, tpdu []byte, enc func() ([]byte, error), want []byte) {
	t.Helper()
	got, err := enc()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !bytes.Equal(got, tpdu) {
		t.Fatalf("Encode =\n %X\nwant\n %X", got, tpdu)
	}
	if hasSMSC {
		pre, err := EncodeSMSC(smsc)
		if err != nil {
			t.Fatalf("EncodeSMSC: %v", err)
		}
		if full := append(pre, got...); !bytes.Equal(full, want) {
			t.Fatalf("EncodeSMSC+Encode =\n %X\nwant\n %X", full, want)
		}
	}
}

func TestSubmitVectors(t *testing.T) {
	for _, v := range submitVectors {
		t.Run(v.name, func(t *testing.T) {
			b := mustHex(t, v.hex)
			smsc, tpdu := splitOrWhole(t, b, true)
			if err := same(smsc, v.smsc); err != nil {
				t.Fatalf("SMSC: %v", err)
			}
			s, err := DecodeSubmit(tpdu)
			if err != nil {
				t.Fatalf("DecodeSubmit: %v", err)
			}
			if err := same(*s, v.want); err != nil {
				t.Fatal(err)
			}
			reencode(t, smsc, true, tpdu, s.Encode, b)
			w := v.want
			reencode(t, v.smsc, true, tpdu, w.Encode, b)
		})
	}
}

func TestDeliverVectors(t *testing.T) {
	for _, v := range deliverVectors {
		t.Run(v.name, func(t *testing.T) {
			b := mustHex(t, v.hex)
			smsc, tpdu := splitOrWhole(t, b, true)
			if err := same(smsc, v.smsc); err != nil {
				t.Fatalf("SMSC: %v", err)
			}
			d, err := DecodeDeliver(tpdu)
			if err != nil {
				t.Fatalf("DecodeDeliver: %v", err)
			}
			if err := same(*d, v.want); err != nil {
				t.Fatal(err)
			}
			mt, err := DecodeMT(tpdu)
			if err != nil {
				t.Fatalf("DecodeMT: %v", err)
			}
			if _, ok := mt.(*Deliver); !ok {
				t.Fatalf("DecodeMT gave %T", mt)
			}
			if v.reencoded != "" {
				b = mustHex(t, v.reencoded)
				_, tpdu = splitOrWhole(t, b, true)
			}
			w := v.want
			reencode(t, v.smsc, true, tpdu, w.Encode, b)
		})
	}
}

func TestStatusReportVectors(t *testing.T) {
	for _, v := range statusVectors {
		t.Run(v.name, func(t *testing.T) {
			b := mustHex(t, v.hex)
			smsc, tpdu := splitOrWhole(t, b, v.smsc != nil)
			if v.smsc != nil {
				if err := same(smsc, *v.smsc); err != nil {
					t.Fatalf("SMSC: %v", err)
				}
			}
			r, err := DecodeStatusReport(tpdu)
			if err != nil {
				t.Fatalf("DecodeStatusReport: %v", err)
			}
			if err := same(*r, v.want); err != nil {
				t.Fatal(err)
			}
			mt, err := DecodeMT(tpdu)
			if err != nil {
				t.Fatalf("DecodeMT: %v", err)
			}
			if _, ok := mt.(*StatusReport); !ok {
				t.Fatalf("DecodeMT gave %T", mt)
			}
			w := v.want
			reencode(t, smsc, v.smsc != nil, tpdu, w.Encode, b)
		})
	}
}

// TestConcatenatedDeliverGammu decodes part 1 of 8 of a concatenated
// message from gammu's test suite.
func TestConcatenatedDeliverGammu(t *testing.T) {
	b := mustHex(t, "07918497900000F6400B918406290000F4000002219221351140A005000363080140CCB7BCDC06A5E1F37A1B447EB3DF72D03C4D0785DB653A0B347EBBE7E531BD4CAFCB4161721A9E9E8FD3EE33A8CC4ED35D206899CD2EBBE9E579BC5E06D9D3F47019E42EC7EB6550F95C9ED3C37316C81CAE8FD3E2FA1C5496BFE7A0B49B054A87C775767A0E4AC3E7F5B60B34ADCFE16537393D9F9741E4F4D99D9ECFD36D10FC2DA7D3D3")
	smsc, tpdu, err := SplitSMSC(b)
	if err != nil {
		t.Fatal(err)
	}
	if smsc != intl("+48790900006") {
		t.Errorf("SMSC = %+v", smsc)
	}
	d, err := DecodeDeliver(tpdu)
	if err != nil {
		t.Fatal(err)
	}
	if d.Originator != intl("+48609200004") || !d.MoreMessagesToSend || d.DCS != 0 {
		t.Errorf("header fields: %+v", d)
	}
	if err := same(d.Timestamp, ts(2020, 12, 29, 12, 53, 11, 4)); err != nil {
		t.Errorf("timestamp: %v", err)
	}
	c, ok := d.UD.Concat()
	if !ok || c != (Concat{Ref: 0x63, Total: 8, Seq: 1}) {
		t.Errorf("Concat = %+v, %v", c, ok)
	}
	if n := len([]rune(d.UD.Text)); n != 153 {
		t.Errorf("text has %d characters, want 153: %q", n, d.UD.Text)
	}
	if !strings.HasPrefix(d.UD.Text, "Lorem ipsum") && !strings.ContainsAny(d.UD.Text, "aeiou") {
		t.Errorf("text looks undecoded: %q", d.UD.Text)
	}
	re, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(re, tpdu) {
		t.Fatalf("re-encode\n %X\nwant\n %X", re, tpdu)
	}
}

// TestSplitTextLorem reproduces python-gsmmodem's three concatenated
// SMS-SUBMIT PDUs (reference 0, reject duplicates) byte for byte.
func TestSplitTextLorem(t *testing.T) {
	text := "Lorem ipsum dolor sit amet, consectetur adipisicing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.Ut enim ad minim veniam, quinostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.Duis aute irure dolor in reprehenderit in voluptate velit esse cillum doloe eu fugiat nulla pariatur.Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum"
	want := []string{
		"0045000B915121551532F40000A0050003000301986F79B90D4AC3E7F53688FC66BFE5A0799A0E0AB7CB741668FC76CFCB637A995E9783C2E4343C3D4F8FD3EE33A8CC4ED359A079990C22BF41E5747DDE7E9341F4721BFE9683D2EE719A9C26D7DD74509D0E6287C56F791954A683C86FF65B5E06B5C36777181466A7E3F5B0AB4A0795DDE936284C06B5D3EE741B642FBBD3E1360B14AFA7DD",
		"0045000B915121551532F40000A0050003000302DE73BABC4E0695F165F9384D0FD3D36F37A8CE6687DBE337881D16BFE5E939C89D9EA741753A28CC4EC7EB6938A88C0795C3A0F1BBDD7E93DFA0F1DB3D2FC7EB61BA8B584FCF41E13ABD0C4ACBEBF23288FC66BFE5A0B41B242FC3E56574D94D2ECBD37450DA0DB2BFD975383D4C2F83EC65769A0E2ACFE765D038CD66D7DB20F29BFD2E83CA",
		"0045000B915121551532F400008C050003000303EA2073FD9C0ED341EE3A9B1D06C1C3F274985E97BB8AF871194E2FD7E5A079DA4D07BDC7E370791CA683C675789A1CA687E920F7DB0D82CBDF6972D94D6781E675371D947683C675363C0C8AD7D3A0B7D99C1EA7C32072795E96D7DD7450FBCD66A7E9A0B03BDD06A5C9A0F29C0E6287C56F79BD0D",
	}
	alpha, parts, err := SplitText(text, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if alpha != AlphabetGSM7 || len(parts) != len(want) {
		t.Fatalf("SplitText = %v, %d parts", alpha, len(parts))
	}
	dest, err := ParseAddress("+15125551234")
	if err != nil {
		t.Fatal(err)
	}
	for i, ud := range parts {
		s := Submit{RejectDuplicates: true, Destination: dest, DCS: NewDCS(alpha, -1), UD: ud}
		tpdu, err := s.Encode()
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		pre, _ := EncodeSMSC(Address{})
		if got := fmt.Sprintf("%X", append(pre, tpdu...)); got != want[i] {
			t.Errorf("part %d:\n got %s\nwant %s", i+1, got, want[i])
		}
		back, err := DecodeSubmit(tpdu)
		if err != nil {
			t.Fatalf("part %d decode: %v", i+1, err)
		}
		if err := same(*back, s); err != nil {
			t.Errorf("part %d: %v", i+1, err)
		}
	}
}

func TestInvalidVectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		dec  func([]byte) error
		want error
	}{
		// python-gsmmodem: UCS-2 SUBMIT whose TP-UDL (160) exceeds its data.
		{"UDL too long", "41010C910661345542F60008A0050003000301306F3044", func(b []byte) error { _, err := DecodeSubmit(b); return err }, ErrInvalid},
		{"UDL beyond data", "01000B916407281553F800000AE8329BFD4697D9EC", func(b []byte) error { _, err := DecodeSubmit(b); return err }, ErrTruncated},
		{"trailing octets", "01000B916407281553F800000AE8329BFD4697D9EC3700", func(b []byte) error { _, err := DecodeSubmit(b); return err }, ErrTrailing},
		{"deliver as submit", "040BC87238880900F10000993092516195800AE8329BFD4697D9EC37", func(b []byte) error { _, err := DecodeSubmit(b); return err }, ErrWrongType},
		{"submit as deliver", "01000B916407281553F800000AE8329BFD4697D9EC37", func(b []byte) error { _, err := DecodeDeliver(b); return err }, ErrWrongType},
		{"submit-report as MT", "01000B", func(b []byte) error { _, err := DecodeMT(b); return err }, ErrWrongType},
		{"empty MT", "", func(b []byte) error { _, err := DecodeMT(b); return err }, ErrTruncated},
		{"bad month", "040BC87238880900F10000993192516195800AE8329BFD4697D9EC37", func(b []byte) error { _, err := DecodeDeliver(b); return err }, ErrInvalid},
		{"UDHL beyond UD", "440BC87238880900F100009930925161958003050000", func(b []byte) error { _, err := DecodeDeliver(b); return err }, ErrInvalid},
		{"odd UCS-2", "040BC87238880900F1000899309251619580030041FF", func(b []byte) error { _, err := DecodeDeliver(b); return err }, ErrInvalid},
		{"status report cut in DT", "06000B910221815716F27090215101218070902151", func(b []byte) error { _, err := DecodeStatusReport(b); return err }, ErrTruncated},
		{"status report PI promises PID", "06000B910221815716F270902151012180709021510171800001", func(b []byte) error { _, err := DecodeStatusReport(b); return err }, ErrTruncated},
		{"address too long", "01001591", func(b []byte) error { _, err := DecodeSubmit(b); return err }, ErrInvalid},
		{"filler inside number", "01000B91F407281553F80000AA0AE8329BFD4697D9EC37", func(b []byte) error { _, err := DecodeSubmit(b); return err }, ErrInvalidAddress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.dec(mustHex(t, tc.hex))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err %v is not a *DecodeError", err)
			}
		})
	}
}
