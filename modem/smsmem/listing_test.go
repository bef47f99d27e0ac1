package smsmem

import (
	"os"
	"strings"
	"testing"
)

const submitPDU = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37" // an SMS-SUBMIT of 23 octets, SMSC "00"

func readLines(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// The listing of testdata/cmgl-pdu.txt: a Huawei capture's header form
// (TS 27.005 §3.4.2 PDU mode, docs/modem-facts.md), a status report, an
// outbox message, and headers whose PDU line was lost or cut short.
func TestParseList(t *testing.T) {
	got, err := ParseList(readLines(t, "cmgl-pdu.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		idx, stat, length            int
		consistent, report, received bool
		noPDU                        bool
	}{
		{0, StatRecUnread, 24, true, false, true, false},
		{3, StatRecRead, 25, true, true, true, false},
		{4, StatStoUnsent, 23, true, false, false, false},
		{7, StatRecUnread, 23, false, false, true, true},
		{9, StatRecRead, 24, false, false, true, false},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries: %+v", len(got), got)
	}
	for i, w := range want {
		e := got[i]
		if e.Index != w.idx || e.Stat != w.stat || e.Length != w.length || e.Consistent() != w.consistent ||
			e.IsStatusReport() != w.report || e.Received() != w.received || (e.PDU == "") != w.noPDU {
			t.Errorf("entry %d: %+v (consistent %v, report %v); want %+v", i, e, e.Consistent(), e.IsStatusReport(), w)
		}
	}
}

// The forms the outbox meets listing AT+CMGL=2 and =3: an empty and a
// quoted alpha, a lost PDU line at the end, lower case and blank lines.
func TestParseListForms(t *testing.T) {
	for _, c := range []struct {
		name  string
		lines []string
		want  []Entry
	}{
		{"empty and quoted alpha, lost PDU line", []string{
			"+CMGL: 0,2,,23", submitPDU,
			`+CMGL: 3,3,"",23`, submitPDU,
			"+CMGL: 5,2,,10",
		}, []Entry{{0, 2, 23, submitPDU}, {3, 3, 23, submitPDU}, {5, 2, 10, ""}}},
		{"alpha with a comma, lower-case PDU", []string{`+CMGL: 7,2,"a,b",23`, strings.ToLower(submitPDU)},
			[]Entry{{7, 2, 23, submitPDU}}},
		{"blank lines, lower-case name, no space", []string{"", "+cmgl:1,0,,3", "", "+CMGL : 2,1,,4"},
			[]Entry{{1, 0, 3, ""}, {2, 1, 4, ""}}},
		{"nothing", nil, nil},
	} {
		got, err := ParseList(c.lines)
		if err != nil || len(got) != len(c.want) {
			t.Errorf("%s: %+v, %v", c.name, got, err)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: entry %d %+v, want %+v", c.name, i, got[i], c.want[i])
			}
		}
	}
}

func TestParseListRefuses(t *testing.T) {
	for _, lines := range [][]string{
		{"garbage"},
		{"0791FFFF"},
		{"+CMGL: x,0,,23", "00"},
		{"+CMGL: -1,2,,23"},
		{"+CMGL: +1,2,,23"},
		{"+CMGL: 1,7,,23", "00"},
		{"+CMGL: 1,2,23"},             // the <alpha> field missing
		{"+CMGL: 1,2,a,b,23"},         // an unquoted alpha with a comma
		{"+CMGL: 1"},                  // no <stat>
		{"+CMGL: 1,2,,1234567"},       // over 6 digits
		{"+CMGR: 1,,23", "00"},        // another command's header
		{"+CMGL: 1,0,,3", "00", "00"}, // a second PDU line
	} {
		if _, err := ParseList(lines); err == nil {
			t.Errorf("ParseList(%q) accepted", lines)
		}
	}
	// The entries before the line that does not parse are returned.
	got, err := ParseList([]string{"+CMGL: 1,0,,23", submitPDU, "+CMGL: x"})
	if err == nil || len(got) != 1 || got[0].Index != 1 {
		t.Errorf("prefix: %+v, %v", got, err)
	}
}

func TestParseRead(t *testing.T) {
	for _, c := range []struct {
		lines []string
		want  Entry
	}{
		{[]string{"+CMGR: 3,,23", submitPDU}, Entry{-1, 3, 23, submitPDU}},
		{[]string{"", `+CMGR: 1,"x,y",23`, "", submitPDU}, Entry{-1, 1, 23, submitPDU}},
		{[]string{"+CMGR: 2,\"\",0"}, Entry{-1, 2, 0, ""}},
	} {
		got, err := ParseRead(c.lines)
		if err != nil || got != c.want {
			t.Errorf("ParseRead(%q) = %+v, %v; want %+v", c.lines, got, err, c.want)
		}
	}
	if e, _ := ParseRead([]string{"+CMGR: 3,,23", submitPDU}); !e.Consistent() {
		t.Error("a matching PDU line is not consistent")
	}
	for _, lines := range [][]string{nil, {""}, {"+CMGL: 1,2,,3"}, {"+CMGR: 1,23"}, {"+CMGR: 5,,23"}, {"+CMGR: x,,23"}} {
		if _, err := ParseRead(lines); err == nil {
			t.Errorf("ParseRead(%q) accepted", lines)
		}
	}
}

func TestConsistent(t *testing.T) {
	for _, c := range []struct {
		e    Entry
		want bool
	}{
		{Entry{Length: 23, PDU: submitPDU}, true},
		{Entry{Length: 23, PDU: "07914346466554F6" + submitPDU[2:]}, true}, // an SMSC shown instead of "00"
		{Entry{Length: 22, PDU: submitPDU}, false},
		{Entry{Length: 22, PDU: submitPDU[:len(submitPDU)-2]}, true},
		{Entry{Length: 23, PDU: submitPDU[:len(submitPDU)-1]}, false}, // odd hex
		{Entry{Length: 0, PDU: ""}, false},
		{Entry{Length: 1, PDU: "ZZ"}, false},
		{Entry{Length: 1, PDU: "FF00"}, false}, // SMSC length beyond the line
	} {
		if got := c.e.Consistent(); got != c.want {
			t.Errorf("%+v: Consistent %v, want %v", c.e, got, c.want)
		}
	}
}

func TestParseCPMS(t *testing.T) {
	for v, want := range map[string][2]int{"3,30,0,100,3,30": {3, 30}, "0,50": {0, 50}, " 1 , 2": {1, 2}} {
		if u, tot, err := ParseCPMSSet(v); err != nil || u != want[0] || tot != want[1] {
			t.Errorf("ParseCPMSSet(%q) = %d %d %v", v, u, tot, err)
		}
	}
	for _, v := range []string{"x", "", "1", "-1,30", "1,x"} {
		if _, _, err := ParseCPMSSet(v); err == nil {
			t.Errorf("ParseCPMSSet(%q) accepted", v)
		}
	}
	sel := ParseCPMSRead(`"SM", 3, 30, "ME",0,100,"SR",3,30`)
	if len(sel) != 3 || sel[0] != (Fill{"SM", 3, 30}) || sel[1] != (Fill{"ME", 0, 100}) || sel[2] != (Fill{"SR", 3, 30}) {
		t.Errorf("read answer: %+v", sel)
	}
	for _, v := range []string{"0,50,0,50,0,100", `"SM",3,30`, `"SM",x,30,"SM",3,30,"SM",3,30`, `"sm",0,1,"SM",0,1,"SM",0,1`, ""} {
		if got := ParseCPMSRead(v); got != nil {
			t.Errorf("ParseCPMSRead(%q) = %+v", v, got)
		}
	}
	if !(Fill{"SM", 30, 30}).Full() || (Fill{"SM", 29, 30}).Full() || (Fill{"SM", 0, 0}).Full() {
		t.Error("Full")
	}
}

// FuzzParse: any modem output parses or fails without panicking; what
// parses has numbers in range and its PDU line as shown, and a non-blank
// text either gives entries or an error.
func FuzzParse(f *testing.F) {
	b, err := os.ReadFile("testdata/cmgl-pdu.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
	f.Add("+CMGL: 0,0,,23\n\n+CMGL: 1,1,\"x,y\",5\nZZ")
	f.Add("+CMGL: 7,2,\"a,b\",23\n00")
	f.Add("+CMGR: 3,,23\n" + submitPDU)
	f.Add("\"SM\",0,30,\"SM\",0,30,\"SM\",0,30")
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Split(s, "\n")
		es, err := ParseList(lines)
		for _, e := range es {
			if e.Index < 0 || e.Stat < 0 || e.Stat > StatAll || e.Length < 0 || e.PDU != strings.ToUpper(e.PDU) {
				t.Fatalf("entry %+v from %q", e, s)
			}
			_ = e.Consistent()
			_ = e.IsStatusReport()
		}
		if err == nil && len(es) == 0 && strings.TrimSpace(s) != "" {
			t.Fatalf("no entries and no error for %q", s)
		}
		if e, err := ParseRead(lines); err == nil && (e.Index != -1 || e.Stat < 0 || e.Stat > StatAll || e.Length < 0) {
			t.Fatalf("read %+v from %q", e, s)
		}
		if u, tot, err := ParseCPMSSet(s); err == nil && (u < 0 || tot < 0) {
			t.Fatalf("CPMS set %d,%d from %q", u, tot, s)
		}
		for _, f := range ParseCPMSRead(s) {
			if !storeName(f.Memory) || f.Used < 0 || f.Total < 0 {
				t.Fatalf("CPMS read %+v from %q", f, s)
			}
		}
	})
}
