package at

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	ext := func(name string, f Form, arg string) LineCommand { return LineCommand{Name: name, Form: f, Arg: arg} }
	basic := func(name, arg string) LineCommand { return LineCommand{Name: name, Arg: arg} }
	for _, tc := range []struct {
		body string
		want []LineCommand
	}{
		{"", nil},
		{"+CSQ", []LineCommand{ext("+CSQ", FormExec, "")}},
		{" +CMGS=10", []LineCommand{ext("+CMGS", FormSet, "10")}},
		{"+cmgs = 10", []LineCommand{ext("+CMGS", FormSet, "10")}},
		{"E1+CMGS=10", []LineCommand{basic("E", "1"), ext("+CMGS", FormSet, "10")}},
		{"&F+CMGS=5", []LineCommand{basic("&F", ""), ext("+CMGS", FormSet, "5")}},
		{"&f0 e0v1", []LineCommand{basic("&F", "0"), basic("E", "0"), basic("V", "1")}},
		{"V0", []LineCommand{basic("V", "0")}},
		{"Q1;E0", []LineCommand{basic("Q", "1"), basic("E", "0")}},
		{"Z", []LineCommand{basic("Z", "")}},
		{"S3=10S7?", []LineCommand{ext("S3", FormSet, "10"), ext("S7", FormRead, "")}},
		{"s5=?", []LineCommand{ext("S5", FormTest, "")}},
		{"+CMGF=1;+CSCS=\"UCS2\"", []LineCommand{ext("+CMGF", FormSet, "1"), ext("+CSCS", FormSet, `"UCS2"`)}},
		{`+CSCA="+43 6;99";+CMEE?`, []LineCommand{ext("+CSCA", FormSet, `"+43 6;99"`), ext("+CMEE", FormRead, "")}},
		{"+CMGF=?", []LineCommand{ext("+CMGF", FormTest, "")}},
		{"D*99#", []LineCommand{basic("D", "*99#")}},
		{"DT123;E1", []LineCommand{basic("D", "T123"), basic("E", "1")}},
		{"A/", nil}, // '/' is no command: an error, below
		{"^SYSINFO", []LineCommand{ext("^SYSINFO", FormExec, "")}},
		{"+IPR=9600", []LineCommand{ext("+IPR", FormSet, "9600")}},
		{"O", []LineCommand{basic("O", "")}},
	} {
		got, err := ParseLine(tc.body)
		if tc.body == "A/" {
			if err == nil {
				t.Errorf("%q: no error", tc.body)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseLine(%q) = %+v, %v; want %+v", tc.body, got, err, tc.want)
		}
	}
	for _, bad := range []string{"+", "+=1", "S", "S7", "E=1", `+CSCS="GSM`, "+CMGS=1\r", "\x1b", "+CSQ\x80", "!"} {
		if got, err := ParseLine(bad); err == nil {
			t.Errorf("ParseLine(%q) = %+v, want an error", bad, got)
		}
	}
}

// joinLine writes cmds back as a command line body, one canonical way.
func joinLine(cmds []LineCommand) string {
	var b strings.Builder
	for _, c := range cmds {
		switch {
		case c.Name == "D":
			b.WriteString("D" + c.Arg + ";")
		case !c.Basic() || c.Name[0] == 'S' && len(c.Name) > 1 && isDigit(c.Name[1]):
			b.WriteString(c.Name)
			switch c.Form {
			case FormSet:
				b.WriteString("=" + c.Arg)
			case FormRead:
				b.WriteString("?")
			case FormTest:
				b.WriteString("=?")
			default:
				b.WriteString(c.Arg)
			}
			b.WriteString(";")
		default:
			b.WriteString(c.Name + c.Arg + ";")
		}
	}
	return b.String()
}

// FuzzParseLine: no panic; names upper case and non-empty; a parsed line
// written back canonically parses to the same commands.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"+CSQ", " +CMGS=10", "E1+CMGS=10", "&F+CMGS=5", "V0", "Q1;E0", "S3=10S7?",
		`+CSCA="+43;1"`, "D*99#;", "+CMGF=?", "Z", "A/", `+CSCS="UCS2";+CMEE=0`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmds, err := ParseLine(body)
		if err != nil {
			return
		}
		for _, c := range cmds {
			if c.Name == "" || c.Name != strings.ToUpper(c.Name) {
				t.Fatalf("%q: name %q", body, c.Name)
			}
		}
		again, err := ParseLine(joinLine(cmds))
		if err != nil || !reflect.DeepEqual(again, cmds) && len(cmds) > 0 {
			t.Fatalf("%q: %+v; written back %q: %+v, %v", body, cmds, joinLine(cmds), again, err)
		}
	})
}
