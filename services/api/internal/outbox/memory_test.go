package outbox

import (
	"strings"
	"testing"
)

func TestParseList(t *testing.T) {
	lines := []string{
		"+CMGL: 0,2,,23", "0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
		"+CMGL: 3,3,\"\",23", "0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
		"+CMGL: 5,2,,10", // PDU line lost
	}
	got, err := parseList(lines)
	if err != nil || len(got) != 3 {
		t.Fatalf("%+v %v", got, err)
	}
	if got[0].Index != 0 || got[0].Stat != 2 || got[0].Length != 23 || !got[0].consistent() {
		t.Fatalf("first %+v", got[0])
	}
	if got[1].Index != 3 || got[1].Stat != 3 || !got[1].consistent() {
		t.Fatalf("second %+v", got[1])
	}
	if got[2].PDU != "" || got[2].consistent() {
		t.Fatalf("third %+v", got[2])
	}
	for _, bad := range [][]string{{"garbage"}, {"+CMGL: x,2,,23"}, {"+CMGL: 1,2,23"}, {"+CMGL: -1,2,,23"}} {
		if _, err := parseList(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseRead(t *testing.T) {
	s, err := parseRead([]string{"+CMGR: 3,,23", "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"})
	if err != nil || s.Stat != 3 || s.Length != 23 || !s.consistent() {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := parseRead(nil); err == nil {
		t.Fatal("empty parsed")
	}
	if _, err := parseRead([]string{"+CMGL: 1,2,,3"}); err == nil {
		t.Fatal("a CMGL line parsed as CMGR")
	}
}

func TestSamePDU(t *testing.T) {
	const p = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
	withMR := "0011420B916407281553F80000AA0AE8329BFD4697D9EC37" // TP-MR filled in by the modem
	withSMSC := "07914346466554F6" + p[2:]                       // the SMSC shown instead of "00"
	if !samePDU(p, p) || !samePDU(p, withMR) || !samePDU(p, withSMSC) {
		t.Fatal("equal parts not recognised")
	}
	other := strings.Replace(p, "E8329B", "E8329C", 1)
	if samePDU(p, other) || samePDU(p, p[:len(p)-2]) || samePDU(p, "zz") || samePDU("", p) {
		t.Fatal("different parts taken for equal")
	}
}

// FuzzParseList: any modem output parses or fails without panicking, and
// what parses has non-negative numbers.
func FuzzParseList(f *testing.F) {
	f.Add("+CMGL: 0,2,,23\n0011000B916407281553F80000AA0AE8329BFD4697D9EC37\n+CMGL: 1,3,,5")
	f.Add("+CMGL: 7,2,\"a,b\",23\n00")
	f.Add("\n\n+cmgl:1,2,,3\nzz")
	f.Fuzz(func(t *testing.T, text string) {
		got, err := parseList(strings.Split(text, "\n"))
		for _, s := range got {
			if s.Index < 0 || s.Stat < 0 || s.Length < 0 {
				t.Fatalf("negative field in %+v (err %v)", s, err)
			}
			_ = s.consistent()
		}
	})
}

// FuzzParseRead: the same for AT+CMGR, and samePDU never panics.
func FuzzParseRead(f *testing.F) {
	f.Add("+CMGR: 3,,23\n0011000B916407281553F80000AA0AE8329BFD4697D9EC37")
	f.Add("+CMGR: 2,\"\",0\n00")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := parseRead(strings.Split(text, "\n"))
		if err == nil && (s.Stat < 0 || s.Length < 0) {
			t.Fatalf("negative field in %+v", s)
		}
		_ = samePDU(s.PDU, s.PDU)
		_ = s.consistent()
	})
}
