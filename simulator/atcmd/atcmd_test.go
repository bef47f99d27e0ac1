package atcmd

import (
	"errors"
	"reflect"
	"testing"
)

func TestBody(t *testing.T) {
	tests := []struct {
		line, body string
		ok         bool
	}{
		{"AT", "", true},
		{"at+cgmi", "+cgmi", true},
		{"At+CSQ", "+CSQ", true},
		{"aT", "", true},
		{"xxAT+CSQ", "+CSQ", true},
		{"", "", false},
		{"A", "", false},
		{"hello", "", false},
		{"ATAT", "AT", true},
	}
	for _, tt := range tests {
		body, ok := Body(tt.line)
		if body != tt.body || ok != tt.ok {
			t.Errorf("Body(%q) = %q, %v; want %q, %v", tt.line, body, ok, tt.body, tt.ok)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		body string
		want []Command
	}{
		{"", nil},
		{"E0", []Command{{Name: "E", Args: "0"}}},
		{"E0V1", []Command{{Name: "E", Args: "0"}, {Name: "V", Args: "1"}}},
		{"e0 v1", []Command{{Name: "E", Args: "0"}, {Name: "V", Args: "1"}}},
		{"I", []Command{{Name: "I"}}},
		{"&F", []Command{{Name: "&F"}}},
		{"Z&FE1", []Command{{Name: "Z"}, {Name: "&F"}, {Name: "E", Args: "1"}}},
		{"S3=13", []Command{{Name: "S3", Form: Set, Args: "13"}}},
		{"S3?", []Command{{Name: "S3", Form: Read}}},
		{"S4=?", []Command{{Name: "S4", Form: Test}}},
		{"+CGMI", []Command{{Name: "+CGMI"}}},
		{"+cgmi", []Command{{Name: "+CGMI"}}},
		{"+CMGF=0", []Command{{Name: "+CMGF", Form: Set, Args: "0"}}},
		{"+CMGF?", []Command{{Name: "+CMGF", Form: Read}}},
		{"+CMGF=?", []Command{{Name: "+CMGF", Form: Test}}},
		{`+CMGF=0;+CSCS="GSM"`, []Command{{Name: "+CMGF", Form: Set, Args: "0"}, {Name: "+CSCS", Form: Set, Args: `"GSM"`}}},
		{`+cscs="ucs2"`, []Command{{Name: "+CSCS", Form: Set, Args: `"ucs2"`}}},
		{`+CUSD=1,"*100#; x",15`, []Command{{Name: "+CUSD", Form: Set, Args: `1,"*100#; x",15`}}},
		{"+CMGF=0;", []Command{{Name: "+CMGF", Form: Set, Args: "0"}}},
		{"E0+CMEE=1", []Command{{Name: "E", Args: "0"}, {Name: "+CMEE", Form: Set, Args: "1"}}},
		{"+CMEE=1;E1", []Command{{Name: "+CMEE", Form: Set, Args: "1"}, {Name: "E", Args: "1"}}},
		{"D*99#", []Command{{Name: "D", Args: "*99#"}}},
		{"D+4366012;", []Command{{Name: "D", Args: "+4366012"}}},
		{"^SYSINFO", []Command{{Name: "^SYSINFO"}}},
		{"+ZCDRUN=8", []Command{{Name: "+ZCDRUN", Form: Set, Args: "8"}}},
		{"+CNMI = 2 , 1", []Command{{Name: "+CNMI", Form: Set, Args: "2,1"}}},
		{"+CSQ;;+CREG?", []Command{{Name: "+CSQ"}, {Name: "+CREG", Form: Read}}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.body)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.body, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %#v; want %#v", tt.body, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		body string
		err  error
	}{
		{`+CSCS="GSM`, ErrUnterminated},
		{"+", ErrNotACommand},
		{"+=1", ErrNotACommand},
		{"+CMGF?E0", ErrTrailingInput},
		{"+CSQ=?X", ErrTrailingInput},
		{"S", ErrSyntax},
		{"S3", ErrSyntax},
		{"&", ErrSyntax},
		{"&1", ErrSyntax},
		{"#", ErrSyntax},
		{"1", ErrSyntax},
	}
	for _, tt := range tests {
		_, err := Parse(tt.body)
		if !errors.Is(err, tt.err) {
			t.Errorf("Parse(%q) error = %v; want %v", tt.body, err, tt.err)
		}
	}
}

func TestSplitParams(t *testing.T) {
	tests := []struct {
		args string
		want []Param
	}{
		{"", nil},
		{"1", []Param{{Value: "1"}}},
		{"2,1,0,2,0", []Param{{Value: "2"}, {Value: "1"}, {Value: "0"}, {Value: "2"}, {Value: "0"}}},
		{"2,,0", []Param{{Value: "2"}, {}, {Value: "0"}}},
		{"1,", []Param{{Value: "1"}, {}}},
		{`"+4366,1",145`, []Param{{Value: "+4366,1", Quoted: true}, {Value: "145"}}},
		{`""`, []Param{{Quoted: true}}},
		{`"SM","ME"`, []Param{{Value: "SM", Quoted: true}, {Value: "ME", Quoted: true}}},
		{` 1 , "a" `, []Param{{Value: "1"}, {Value: "a", Quoted: true}}},
	}
	for _, tt := range tests {
		got, err := SplitParams(tt.args)
		if err != nil {
			t.Errorf("SplitParams(%q): %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitParams(%q) = %#v; want %#v", tt.args, got, tt.want)
		}
	}
	for _, bad := range []string{`"abc`, `"a"b`, `a"b`, `1,a"b"`} {
		if _, err := SplitParams(bad); err == nil {
			t.Errorf("SplitParams(%q) succeeded; want error", bad)
		}
	}
}

func TestParamInt(t *testing.T) {
	if n, err := (Param{Value: "145"}).Int(); err != nil || n != 145 {
		t.Errorf("Int(145) = %d, %v", n, err)
	}
	for _, p := range []Param{{Value: ""}, {Value: "1", Quoted: true}, {Value: "-1"}, {Value: "1a"}, {Value: "99999999999999999999"}} {
		if _, err := p.Int(); err == nil {
			t.Errorf("%#v.Int() succeeded; want error", p)
		}
	}
	if !(Param{}).Omitted() || (Param{Quoted: true}).Omitted() {
		t.Error("Omitted wrong")
	}
}

func TestJoinRoundTrip(t *testing.T) {
	for _, body := range []string{"E0V1", `+CMGF=0;+CSCS="GSM"`, "E0+CMEE=1;I", "S3?E1", "D*99#;E0", "+CSQ;+CREG?;+COPS=?"} {
		cmds, err := Parse(body)
		if err != nil {
			t.Fatalf("Parse(%q): %v", body, err)
		}
		again, err := Parse(Join(cmds))
		if err != nil {
			t.Fatalf("Parse(Join(%q)) = Parse(%q): %v", body, Join(cmds), err)
		}
		if !reflect.DeepEqual(again, cmds) {
			t.Errorf("round trip of %q: %#v != %#v", body, again, cmds)
		}
	}
}

func TestFormString(t *testing.T) {
	for f, s := range map[Form]string{Exec: "exec", Set: "set", Read: "read", Test: "test", Form(9): "Form(9)"} {
		if f.String() != s {
			t.Errorf("%d.String() = %q", int(f), f.String())
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"E0V1", `+CMGF=0;+CSCS="GSM"`, "S3=13", "+CMGS=23", `+CUSD=1,"*100#",15`, "D*99#;", "&F", `"`, "+CSQ=?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmds, err := Parse(body)
		if err != nil {
			return
		}
		// Every parsed command renders back to a line that parses to
		// the same commands.
		again, err := Parse(Join(cmds))
		if err != nil {
			t.Fatalf("Parse(Join(Parse(%q))) = Parse(%q): %v", body, Join(cmds), err)
		}
		if !reflect.DeepEqual(again, cmds) && !(len(again) == 0 && len(cmds) == 0) {
			t.Fatalf("round trip of %q via %q: %#v != %#v", body, Join(cmds), again, cmds)
		}
		for _, c := range cmds {
			if c.Name == "" {
				t.Fatalf("empty command name from %q", body)
			}
			if c.Form == Set {
				_, _ = SplitParams(c.Args)
			}
		}
	})
}
