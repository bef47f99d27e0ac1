package device

import "testing"

// The exactly-once route of the api's outbox (TS 27.005 §3.5): AT+CMGW
// stores STO UNSENT, AT+CMSS submits it once (recorded in Sent) and marks
// it STO SENT, AT+CMGR and AT+CMGL show the status, AT+CMGD deletes; a
// network refusal (the SubmitError fault) leaves it STO UNSENT and sends
// nothing.
func TestStoreAndSendRoute(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock, Seed: 3})
	r.quiet()
	r.cmd("AT+CMEE=1", "\r\nOK\r\n")
	body := "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
	r.cmd("AT+CMGW=23", "\r\n> ")
	r.send(body + "\x1a")
	r.expect("\r\n+CMGW: 0\r\n\r\nOK\r\n")
	r.cmd("AT+CMGR=0", "\r\n+CMGR: 2,,23\r\n"+body+"\r\n\r\nOK\r\n")
	r.cmd("AT+CMGL=3", "\r\nOK\r\n")

	r.d.SetFaults(Faults{SubmitError: 21})
	r.cmd("AT+CMSS=0", "\r\n+CMS ERROR: 21\r\n")
	r.cmd("AT+CMGL=2", "\r\n+CMGL: 0,2,,23\r\n"+body+"\r\n\r\nOK\r\n")
	if n := len(r.d.Sent()); n != 0 {
		t.Fatalf("a refused submission was recorded: %+v", r.d.Sent())
	}

	r.d.SetFaults(Faults{})
	mr := peekMR(r.d)
	r.cmd("AT+CMSS=0", "\r\n+CMSS: "+itoaT(mr)+"\r\n\r\nOK\r\n")
	r.cmd("AT+CMGR=0", "\r\n+CMGR: 3,,23\r\n"+body+"\r\n\r\nOK\r\n")
	r.cmd("AT+CMGL=2", "\r\nOK\r\n")
	r.cmd("AT+CMGL=3", "\r\n+CMGL: 0,3,,23\r\n"+body+"\r\n\r\nOK\r\n")
	if sent := r.d.Sent(); len(sent) != 1 || len(sent[0].Parts) != 1 || sent[0].Parts[0].MR != mr {
		t.Fatalf("Sent() = %+v; want the part once", sent)
	}
	r.cmd("AT+CMGD=0", "\r\nOK\r\n")
	r.cmd("AT+CMGR=0", "\r\n+CMS ERROR: 321\r\n")
	r.cmd("AT+CMSS=0", "\r\n+CMS ERROR: 321\r\n")
	if n := len(r.d.Sent()); n != 1 {
		t.Fatalf("%d sent; want 1", n)
	}
}

func TestSubmitErrorFaultBounds(t *testing.T) {
	d, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	d.SetFaults(Faults{SubmitError: 300})
	if f := d.Faults(); f.SubmitError != 0 {
		t.Fatalf("SubmitError %d kept; want 0 for a value outside 1..255", f.SubmitError)
	}
}
