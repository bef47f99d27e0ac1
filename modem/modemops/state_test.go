package modemops

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
)

// wedgedRig is a simulated device that an earlier client left in some
// state by writing before, and an engine started on it afterwards.
func wedgedRig(t *testing.T, cfg device.Config, before string, wait string) *rig {
	t.Helper()
	d, err := device.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { d.Serve(ctx, b); close(served) }()
	t.Cleanup(func() {
		cancel()
		a.Close()
		b.Close()
		<-served
	})
	if before != "" {
		// The earlier client: writes, and reads until the modem has
		// answered (the device writes to the pipe synchronously).
		done := make(chan error, 1)
		go func() {
			var got []byte
			buf := make([]byte, 256)
			_ = a.SetReadDeadline(time.Now().Add(5 * time.Second))
			for !bytes.HasSuffix(got, []byte(wait)) {
				n, err := a.Read(buf)
				if err != nil {
					done <- err
					return
				}
				got = append(got, buf[:n]...)
			}
			_ = a.SetReadDeadline(time.Time{})
			done <- nil
		}()
		if _, err := a.Write([]byte(before)); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("the earlier client's %q: %v", before, err)
		}
	}
	r := &rig{d: d, ops: New(Config{})}
	r.e = at.New(ctx, a)
	t.Cleanup(func() { r.e.Close() })
	return r
}

// The states a killed client or an admin's raw command can leave the modem
// in; Init brings each back, and nothing it sends becomes an SMS.
func TestInitFromWedgedModem(t *testing.T) {
	for _, tc := range []struct{ name, before, wait string }{
		{"prompt", "AT+CMGS=10\r", "> "},
		{"prompt after ATE1", "ATE1+CMGS=10\r", "> "},
		{"prompt after AT&F", "AT&F+CMGS=5\r", "> "},
		{"ATV0", "ATV0\r", "0\r"},
		{"ATQ1 ATE1", "ATQ1E1\r", "ATQ1E1\r"},
		{"ATV0 and prompt", "ATV0+CMGS=10\r", "> "},
		{"text mode UCS2", "AT+CMGF=1;+CSCS=\"UCS2\";+CMEE=0\r", "OK\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := wedgedRig(t, device.Config{}, tc.before, tc.wait)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := r.ops.Init(ctx, r.e); err != nil {
				t.Fatalf("init: %v", err)
			}
			for cmd, want := range map[string]string{"+CMGF?": "+CMGF: 0", "+CMEE?": "+CMEE: 1", "+CSCS?": `+CSCS: "GSM"`, "E?": ""} {
				if cmd == "E?" {
					continue
				}
				r2, err := r.e.Command(ctx, cmd)
				if err != nil || len(r2.Lines) != 1 || r2.Lines[0] != want {
					t.Errorf("AT%s after init: %q, %v; want %q", cmd, r2.Lines, err, want)
				}
			}
			if sent := r.d.Sent(); len(sent) != 0 {
				t.Errorf("the modem sent %+v", sent)
			}
		})
	}
}

func TestRawClassification(t *testing.T) {
	refused := map[string]string{
		"AT +CMGS=10": "+CMGS=10", "ATE1+CMGS=10": "+CMGS=10", "AT&F+CMGS=5": "+CMGS=5", "+cmgs = 10": "+CMGS=10",
		"ATV0": "V0", "ATV": "V", "ATQ1": "Q1", "ATE0Q1": "Q1", "ATS3=10": "S3=10", "S4=13": "S4=13",
		"ATS5=9": "S5=9", "AT+IPR=9600": "+IPR=9600", "AT+ICF=3": "+ICF=3", "A/": "A", "ATO": "O", "ATD*99#": "D*99#",
		"ATA": "A", "AT+CMUX=0": "+CMUX=0", "AT+CMGW": "+CMGW", "AT+CNMA=0,10": "+CNMA=0,10", "AT+CMGC=5": "+CMGC=5",
		"AT!": "!", `AT+CSCS="GSM`: `+CSCS="GSM`,
	}
	for in, cmd := range refused {
		_, err := ParseReadable(in, "<heartbeat>")
		var re *RefusedError
		if !errors.As(err, &re) || re.Field != "command" || !strings.Contains(re.Command, cmd) && !strings.Contains(re.Reason, "parse") {
			t.Errorf("ParseReadable(%q) = %v, want refused naming %q", in, err, cmd)
		}
	}
	for in, restore := range map[string]bool{
		"AT+CSQ": false, "ATV1": false, "ATQ0": false, "ATQ": false, "ATS3?": false, "ATS7=20": false, "AT+IPR?": false,
		"AT+CMGS=?": false, "AT+CMGF?": false, "AT+CNMA": false,
		"AT+CMGF=1": true, `AT+CSCS="UCS2"`: true, "AT+CMEE=0": true, "ATZ": true, "AT&F": true, "ATE1": true,
		"AT+CNMI=0,0,0,0,0": true, `AT+CPMS="ME"`: true, "AT+CFUN=1,1": true,
	} {
		rc, err := ParseReadable(in, "<heartbeat>")
		if err != nil || rc.Restore != restore {
			t.Errorf("ParseReadable(%q) = %+v, %v; want accepted, restore %v", in, rc, err, restore)
		}
	}
	if rc, err := ParseHex(hexOf("AT+CSQ;+CMGF=1\r"), ""); err != nil || !rc.Restore {
		t.Errorf("hex AT+CSQ;+CMGF=1: %+v %v", rc, err)
	}
	// Hex: a prompt command only alone and with its body.
	for _, h := range []string{"41542B434D47533D31300D" /* AT+CMGS=10\r */, hexOf("AT+CSQ;V0\r"), hexOf("AT+CSQ;+CMGS=10\r001100\x1a"), "415445312B434D47533D31300D3030313130301A", /* ATE1+CMGS=10\r001100^Z */
		"41542B4353510D3030313130301A" /* AT+CSQ\r001100^Z */, "415456300D" /* ATV0\r */} {
		var re *RefusedError
		if _, err := ParseHex(h, "<heartbeat>"); !errors.As(err, &re) || re.Field != "hex" {
			t.Errorf("ParseHex(%q) = %v, want refused", h, err)
		}
	}
}

// After a raw command that changes a setting the api relies on, the api's
// settings are back before the next job.
func TestRawRestoresSettings(t *testing.T) {
	r := newRig(t, Config{})
	ctx := context.Background()
	for _, c := range []string{"AT+CMGF=1", `AT+CSCS="UCS2"`, "AT+CMEE=0", "ATZ", "AT&F", "ATE1", `AT+CMGF=1;+CSCS="IRA";+CMEE=2`} {
		rc, err := ParseHex(hexOf(c+"\r"), "")
		if err != nil {
			t.Fatal(err)
		}
		x, err := r.ops.Raw(ctx, r.e, rc, 0)
		if err != nil || x.Final != "OK" || !x.Restored {
			t.Fatalf("%s: %+v %v", c, x, err)
		}
		for cmd, want := range map[string]string{"+CMGF?": "+CMGF: 0", "+CMEE?": "+CMEE: 1", "+CSCS?": `+CSCS: "GSM"`} {
			r2, err := r.e.Command(ctx, cmd)
			if err != nil || len(r2.Lines) != 1 || r2.Lines[0] != want {
				t.Errorf("after %s: AT%s: %q, %v; want %q", c, cmd, r2.Lines, err, want)
			}
		}
	}
}

func TestStatusRadioAndStorage(t *testing.T) {
	r := newRig(t, Config{})
	ctx := context.Background()
	st, err := r.ops.ReadStatus(ctx, r.e)
	if err != nil || st.Radio != "on" || st.Functionality != 1 || st.Storage == nil || st.Storage.Memory != "SM" ||
		st.Storage.Total != device.DefaultSMCapacity || len(st.Warnings) != 0 {
		t.Fatalf("status %+v %v", st, err)
	}
	if _, err := r.e.Command(ctx, "+CFUN=0"); err != nil {
		t.Fatal(err)
	}
	if st, err = r.ops.ReadStatus(ctx, r.e); err != nil || st.Radio != "off" || st.Functionality != 0 {
		t.Fatalf("radio off: %+v %v", st, err)
	}
	if _, err := r.e.Command(ctx, "+CFUN=1"); err != nil {
		t.Fatal(err)
	}
	for range device.DefaultSMCapacity {
		if _, err := r.d.InjectSMS(device.IncomingSMS{From: "+436601234567", Text: "fill"}); err != nil {
			t.Fatal(err)
		}
	}
	if st, err = r.ops.ReadStatus(ctx, r.e); err != nil || !st.Storage.Full() || len(st.Warnings) != 1 {
		t.Fatalf("full store: %+v %v", st, err)
	}
}

func TestParseCPMS(t *testing.T) {
	for in, want := range map[string]*Storage{
		`"SM",3,30,"SM",3,30,"SM",3,30`:          {"SM", 3, 30},
		`"ME", 0, 50, "ME", 0, 50, "ME", 50, 50`: {"ME", 50, 50},
		`0,50,0,50,0,100`:                        {"mem3", 0, 100},
		`"SM",3,30`:                              nil,
		`"SM",x,30,"SM",3,30,"SM",3,30`:          {"SM", 3, 30},
		`"SM",3,30,"SM",3,30,"SM",-1,30`:         nil,
		``:                                       nil,
	} {
		got := ParseCPMS(in)
		if (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Errorf("ParseCPMS(%q) = %+v, want %+v", in, got, want)
		}
	}
}

// FuzzParseRaw: no panic; an accepted readable command never carries a
// command the api refuses, whatever the spelling.
func FuzzParseRaw(f *testing.F) {
	for _, s := range []string{"AT+CSQ", "AT +CMGS=10", "ATE1+CMGS=10", "AT&F+CMGS=5", "ATV0", "ATQ1", "ATZ", "AT+CMGF=1;+CSCS=\"UCS2\"", "A/", "ATS3=10", "ATD123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rc, err := ParseReadable(s, "<heartbeat>")
		if err != nil {
			return
		}
		cmds, perr := at.ParseLine(rc.Line)
		if perr != nil {
			t.Fatalf("%q accepted but does not parse: %v", s, perr)
		}
		for _, c := range cmds {
			switch {
			case c.Name == "V" && c.Arg != "1", c.Name == "Q" && c.Arg != "" && c.Arg != "0",
				c.Name == "D", c.Name == "A", c.Name == "O",
				c.Name == "+CMGS" && c.Form == at.FormSet, c.Name == "S3" && c.Form == at.FormSet:
				t.Fatalf("%q accepted with %+v", s, c)
			}
		}
		if hc, err := ParseHex(hexOf("AT"+rc.Line+"\r"), "<heartbeat>"); err != nil || hc.Line != rc.Line || hc.Restore != rc.Restore {
			t.Fatalf("%q readable %+v, as hex %+v %v", s, rc, hc, err)
		}
	})
}

func hexOf(s string) string {
	const digits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(digits[s[i]>>4])
		b.WriteByte(digits[s[i]&15])
	}
	return b.String()
}
