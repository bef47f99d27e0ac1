package device

import (
	"encoding/hex"
	"strings"
	"testing"
)

// A status report the modem cannot take (SR full, or not registered) is
// held in the network like an SMS and arrives, in order, once SR has room
// and the modem is registered; none is dropped.
func TestStatusReportsHeldWhileSRFullOrUnregistered(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock, SRCapacity: 2})
	r.quiet()
	if err := r.d.SetReportMode(ReportManual); err != nil {
		t.Fatal(err)
	}
	r.cmd("AT+CNMI=2,1,0,2,0", ok())
	body := "0031000B916407281553F80000AA0AE8329BFD4697D9EC37" // SRR set
	mr := peekMR(r.d)
	for i := range 4 {
		r.cmd("AT+CMGS=23", "\r\n> ")
		r.send(body + "\x1a")
		r.expect(ok("+CMGS: " + itoa((mr+i)%256)))
	}
	report := func(i int) string {
		return smscHex + "06" + strings.ToUpper(hex.EncodeToString([]byte{byte(mr + i)})) +
			"0B916407281553F8" + "42501021436580" + "42501021436580" + "00"
	}
	// Two fill SR; the third is held.
	for i := range 3 {
		if err := r.d.SendStatusReport((mr+i)%256, 0); err != nil {
			t.Fatal(err)
		}
	}
	r.expect("\r\n+CDSI: \"SR\",0\r\n\r\n+CDSI: \"SR\",1\r\n")
	if n := r.d.HeldReports(); n != 1 {
		t.Fatalf("HeldReports() = %d with SR full, want 1", n)
	}
	// Not registered: the fourth cannot reach the modem either.
	n := r.d.Network()
	n.Reg = 0
	if err := r.d.SetNetwork(n); err != nil {
		t.Fatal(err)
	}
	if err := r.d.SendStatusReport((mr+3)%256, 0); err != nil {
		t.Fatal(err)
	}
	// Freeing SR while unregistered lets nothing in.
	r.cmd(`AT+CPMS="SR"`, ok("+CPMS: 2,2,0,30,0,30"))
	r.cmd("AT+CMGD=0", ok())
	if n := r.d.HeldReports(); n != 2 {
		t.Fatalf("HeldReports() = %d while not registered, want 2", n)
	}
	// Registered again: the held reports arrive in order while SR has room.
	n.Reg = 1
	if err := r.d.SetNetwork(n); err != nil {
		t.Fatal(err)
	}
	r.expect("\r\n+CDSI: \"SR\",0\r\n")
	if n := r.d.HeldReports(); n != 1 {
		t.Fatalf("HeldReports() = %d with SR full again, want 1", n)
	}
	r.cmd("AT+CMGD=1", ok()+"\r\n+CDSI: \"SR\",1\r\n")
	if n := r.d.HeldReports(); n != 0 {
		t.Fatalf("HeldReports() = %d, want 0", n)
	}
	msgs, err := r.d.Messages("SR")
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Messages(SR) = %+v, %v", msgs, err)
	}
	for i, want := range []string{report(2), report(3)} {
		if msgs[i].PDU != want {
			t.Errorf("SR %d: %s, want %s", i, msgs[i].PDU, want)
		}
	}
}
