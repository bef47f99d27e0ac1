package inbox

import (
	"os"
	"strings"
	"testing"
)

// The listing of testdata/cmgl-pdu.txt: a Huawei capture's header form
// (TS 27.005 §3.4.2 PDU mode, docs/modem-facts.md), a status report, an
// outbox message, and a header whose PDU line was lost.
func TestParseList(t *testing.T) {
	b, err := os.ReadFile("testdata/cmgl-pdu.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	got, err := ParseList(lines)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		idx, stat, length int
		consistent, report bool
		received           bool
	}{
		{0, 0, 24, true, false, true},
		{3, 1, 25, true, true, true},
		{4, 2, 23, true, false, false},
		{7, 0, 23, false, false, true},
		{9, 1, 24, false, false, true},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries: %+v", len(got), got)
	}
	for i, w := range want {
		e := got[i]
		if e.Index != w.idx || e.Stat != w.stat || e.Length != w.length || e.Consistent() != w.consistent ||
			e.IsStatusReport() != w.report || e.Received() != w.received {
			t.Errorf("entry %d: %+v (consistent %v, report %v); want %+v", i, e, e.Consistent(), e.IsStatusReport(), w)
		}
	}
	if got[3].PDU != "" {
		t.Errorf("entry with a lost PDU line: %+v", got[3])
	}
}

func TestParseListRefusesStrayLines(t *testing.T) {
	for _, lines := range [][]string{
		{"0791FFFF"},
		{"+CMGL: x,0,,23", "00"},
		{"+CMGL: 1,7,,23", "00"},
		{"+CMGL: 1"},
	} {
		if _, err := ParseList(lines); err == nil {
			t.Errorf("ParseList(%q) accepted", lines)
		}
	}
}

func TestParseRead(t *testing.T) {
	e, err := ParseRead([]string{"+CMGR: 1,,23", "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"})
	if err != nil || e.Stat != 1 || e.Length != 23 || !e.Consistent() {
		t.Fatalf("ParseRead: %+v, %v", e, err)
	}
	if _, err := ParseRead([]string{"+CMGL: 1,,23"}); err == nil {
		t.Error("a +CMGL line accepted as +CMGR")
	}
}

func TestParseCPMS(t *testing.T) {
	if u, tot, err := parseCPMSSet("3,30,0,100,3,30"); err != nil || u != 3 || tot != 30 {
		t.Errorf("set answer: %d %d %v", u, tot, err)
	}
	if _, _, err := parseCPMSSet("x"); err == nil {
		t.Error("bad set answer accepted")
	}
	sel := parseCPMSRead(`"SM", 3, 30, "ME",0,100,"SM",3,30`)
	if len(sel) != 3 || sel[1] != (Fill{"ME", 0, 100}) || !(Fill{"SM", 30, 30}).Full() {
		t.Errorf("read answer: %+v", sel)
	}
	if parseCPMSRead("0,50,0,50,0,100") != nil {
		t.Error("numbers-only read answer gave names")
	}
}

func FuzzParseList(f *testing.F) {
	b, err := os.ReadFile("testdata/cmgl-pdu.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
	f.Add("+CMGL: 0,0,,23\n\n+CMGL: 1,1,\"x,y\",5\nZZ")
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Split(s, "\n")
		es, err := ParseList(lines)
		for _, e := range es {
			if e.Index < 0 || e.Stat < 0 || e.Stat > 4 || e.Length < 0 {
				t.Fatalf("entry %+v from %q", e, s)
			}
			_ = e.Consistent()
			_ = e.IsStatusReport()
		}
		if err == nil && len(es) == 0 && strings.TrimSpace(s) != "" && len(lines) > 0 {
			t.Fatalf("no entries and no error for %q", s)
		}
		if e, err := ParseRead(lines); err == nil && (e.Stat > 4 || e.Length < 0) {
			t.Fatalf("read %+v from %q", e, s)
		}
	})
}
