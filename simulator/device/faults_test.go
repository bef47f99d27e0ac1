package device

import (
	"log/slog"
	"strings"
	"testing"
)

func TestFaultHang(t *testing.T) {
	rec := newLogRecorder()
	r := newRig(t, Config{Logger: slog.New(rec)})
	r.quiet()
	r.d.SetFaults(Faults{Hang: true})
	r.send("AT+CSQ\r")
	rec.waitFor(t, "swallowed input (hang fault)")
	if err := r.d.InjectURC("+ZEND"); err != nil { // held while hanging
		t.Fatal(err)
	}
	r.d.SetFaults(Faults{})
	r.expect("\r\n+ZEND\r\n")
	r.cmd("AT", ok())
	if got := r.d.Faults(); got != (Faults{}) {
		t.Errorf("Faults() = %+v", got)
	}
}

func TestFaultDropEcho(t *testing.T) {
	r := newRig(t, Config{})
	r.d.SetFaults(Faults{DropEcho: true})
	r.cmd("AT", ok())
	r.cmd("AT+CMGS=23", "\r\n> ")
	r.send("00\x1b")
	r.expect(ok())
	r.d.SetFaults(Faults{})
	r.cmd("AT", "AT\r"+ok())
}

func TestFaultInterleaveURC(t *testing.T) {
	r := newRig(t, Config{})
	r.quiet()
	r.d.SetFaults(Faults{InterleaveURC: true})
	r.cmd("AT+CSQ", "\r\n+CSQ: 20,99\r\n\r\n+ZPASR: \"LTE\"\r\n\r\nOK\r\n")
	r.cmd("AT", ok()) // a single line: nothing to interleave
	r.cmd("ATI", "\r\nManufacturer: ZTE CORPORATION\r\n\r\n+ZPASR: \"LTE\"\r\nModel: MF831\r\nRevision: BD_HOFATMF831V1.0.0B02\r\nIMEI: 866948015551230\r\n+GCAP: +CGSM\r\n\r\nOK\r\n")
}

func TestFaultNoise(t *testing.T) {
	r := newRig(t, Config{Seed: 42})
	r.quiet()
	r.d.SetFaults(Faults{NoiseRate: 5}) // clamped to 1
	if f := r.d.Faults(); f.NoiseRate != 1 {
		t.Errorf("NoiseRate = %v; want clamped to 1", f.NoiseRate)
	}
	r.cmd("AT", ok())
	r.d.SetFaults(Faults{})
	r.send("AT\r")
	got := r.readUntil("\r\nOK\r\n")
	noise := strings.TrimSuffix(got, "\r\nOK\r\n")
	if len(noise) < 1 || len(noise) > 8 {
		t.Errorf("noise %q: want 1 to 8 bytes", noise)
	}
	if err := r.d.InjectNoise([]byte{0xFF, 0x00, 'x'}); err != nil {
		t.Fatal(err)
	}
	r.expect("\xff\x00x")
	if err := r.d.InjectURC("+ZUSIMR:2"); err != nil {
		t.Fatal(err)
	}
	r.expect("\r\n+ZUSIMR:2\r\n")
}

// URCs wait while the prompt is open, then follow the final result.
func TestURCsHeldDuringPrompt(t *testing.T) {
	r := newRig(t, Config{})
	r.quiet()
	r.cmd("AT+CNMI=2,1", ok())
	r.cmd("AT+CMGS=23", "\r\n> ")
	if _, err := r.d.InjectSMS(IncomingSMS{From: "123", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := r.d.InjectURC("+ZEND"); err != nil {
		t.Fatal(err)
	}
	r.send("\x1b")
	r.expect(ok() + "\r\n+CMTI: \"SM\",0\r\n\r\n+ZEND\r\n")
}

// With +CNMI mode 0 the TA buffers SMS URCs; mode 2 with bfr 0 flushes them.
func TestCNMIBuffering(t *testing.T) {
	r := newRig(t, Config{})
	r.quiet()
	r.cmd("AT+CNMI=0,1", ok())
	if _, err := r.d.InjectSMS(IncomingSMS{From: "123", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	r.cmd("AT+CNMI=2,1,0,0,0", ok()+"\r\n+CMTI: \"SM\",0\r\n")
	r.cmd("AT+CNMI=0,1", ok())
	if _, err := r.d.InjectSMS(IncomingSMS{From: "123", Text: "y"}); err != nil {
		t.Fatal(err)
	}
	r.cmd("AT+CNMI=2,1,0,0,1", ok()) // bfr 1: dropped
	r.cmd("AT", ok())
}

func TestTranscript(t *testing.T) {
	r := newRig(t, Config{})
	r.cmd("AT+CGMI", "AT+CGMI\r\r\nZTE CORPORATION\r\n\r\nOK\r\n")
	r.cmd("AT+CMGS=23", "AT+CMGS=23\r\r\n> ")
	r.send("00\x1b")
	r.expect("00\x1b\r\nOK\r\n")
	tr := r.d.Transcript()
	if len(tr) != 2 {
		t.Fatalf("Transcript() = %+v", tr)
	}
	if tr[0].Command != "AT+CGMI" || tr[0].Response != "AT+CGMI\r\r\nZTE CORPORATION\r\n\r\nOK\r\n" || tr[0].Time.IsZero() {
		t.Errorf("exchange 0 = %+v", tr[0])
	}
	if tr[1].Command != "AT+CMGS=23" || tr[1].Body != "00\x1b" || tr[1].Response != "AT+CMGS=23\r\r\n> 00\x1b\r\nOK\r\n" {
		t.Errorf("exchange 1 = %+v", tr[1])
	}
	r.d.ClearTranscript()
	if len(r.d.Transcript()) != 0 {
		t.Error("ClearTranscript left exchanges")
	}
}
