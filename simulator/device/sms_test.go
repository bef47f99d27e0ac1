package device

import (
	"strings"
	"testing"
	"time"
)

// fixedClock is the clock of SMS tests: 2024-05-01 12:34:56 +02:00.
func fixedClock() time.Time {
	return time.Date(2024, 5, 1, 12, 34, 56, 0, time.FixedZone("", 2*3600))
}

// peekMR is the message reference the next submission gets.
func peekMR(d *Device) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nextMR
}

func itoaT(n int) string { return itoa(n) }

const (
	smscHex  = "0891345600090000F0"
	helloPDU = smscHex + "040C91346610325476000042501021436580" + "05C8329BFD06" // from +436601234567, "Hello"
)

func TestSendPDUMode(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock, Seed: 7})
	mr := peekMR(r.d)
	r.cmd("AT+CMGF=0", "AT+CMGF=0\r\r\nOK\r\n")
	r.cmd("AT+CMGS=23", "AT+CMGS=23\r\r\n> ")
	body := "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
	r.send(body + "\x1a")
	r.expect(body + "\x1a\r\n+CMGS: " + itoaT(mr) + "\r\n\r\nOK\r\n")

	sent := r.d.Sent()
	if len(sent) != 1 {
		t.Fatalf("Sent() = %+v; want one message", sent)
	}
	m := sent[0]
	if m.Recipient != "+46708251358" || m.Text != "hellohello" || m.Alphabet != "gsm7" || m.Mode != "pdu" ||
		m.Validity != 4*24*time.Hour || m.Class != -1 || m.StatusReportRequested || len(m.Parts) != 1 ||
		m.Parts[0].MR != mr || m.Parts[0].PDU != body[2:] || m.Parts[0].Concat != nil {
		t.Errorf("Sent()[0] = %+v", m)
	}

	// A wrong length: the TPDU has 23 octets.
	r.quiet()
	r.cmd("AT+CMEE=1", "\r\nOK\r\n")
	r.cmd("AT+CMGS=22", "\r\n> ")
	r.send(body + "\x1a")
	r.expect("\r\n+CMS ERROR: 304\r\n")
	r.cmd("AT+CMGS=23", "\r\n> ")
	r.send("0011zz\x1a")
	r.expect("\r\n+CMS ERROR: 304\r\n")
	// ESC cancels.
	r.cmd("AT+CMGS=23", "\r\n> ")
	r.send(body[:10] + "\x1b")
	r.expect("\r\nOK\r\n")
	if n := len(r.d.Sent()); n != 1 {
		t.Errorf("%d messages sent; want 1", n)
	}
	// CR LF inside the PDU are ignored; the SMSC given in the PDU is used.
	r.cmd("AT+CMGS=23", "\r\n> ")
	r.send("07913456000900F0" + body[2:26] + "\r\n" + body[26:] + "\x1a")
	r.expect("\r\n+CMGS: " + itoaT((mr+1)%256) + "\r\n\r\nOK\r\n")
}

func TestSendFailures(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock, NoSMSC: true})
	r.quiet()
	r.cmd("AT+CMEE=1", "\r\nOK\r\n")
	body := "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
	r.cmd("AT+CSCA?", "\r\n+CSCA: \"\",129\r\n\r\nOK\r\n")
	r.cmd("AT+CMGS=23", "\r\n> ")
	r.send(body + "\x1a")
	r.expect("\r\n+CMS ERROR: 330\r\n")
	r.cmd(`AT+CSCA="4365009000000",145`, "\r\nOK\r\n")
	r.cmd("AT+CSCA?", "\r\n+CSCA: \"+4365009000000\",145\r\n\r\nOK\r\n")
	r.cmd("AT+CFUN=4", "\r\nOK\r\n")
	r.cmd("AT+CMGS=23", "\r\n> ")
	r.send(body + "\x1a")
	r.expect("\r\n+CMS ERROR: 331\r\n")
	r.cmd("AT+CSQ", "\r\n+CSQ: 99,99\r\n\r\nOK\r\n")
	r.cmd("AT+CFUN=1", "\r\nOK\r\n")
	mr := peekMR(r.d)
	r.cmd("AT+CMGS=23", "\r\n> ")
	r.send(body + "\x1a")
	r.expect("\r\n+CMGS: " + itoaT(mr) + "\r\n\r\nOK\r\n")
}

func TestSendTextMode(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock})
	r.quiet()
	mr := peekMR(r.d)
	r.cmd("AT+CMGF=1", "\r\nOK\r\n")
	r.cmd(`AT+CSCS="GSM"`, "\r\nOK\r\n")
	r.cmd(`AT+CMGS="+43123456789"`, "\r\n> ")
	r.send("Hello World!\x1a\r\n")
	r.expect("\r\n+CMGS: " + itoaT(mr) + "\r\n\r\nOK\r\n")
	// GSM charset: "@" is 0x00, "$" is 0x02. (Extension characters
	// cannot be typed: their escape 0x1B is ESC, which cancels.)
	r.cmd(`AT+CMGS="+43123456789",145`, "\r\n> ")
	r.send("\x00 5\x02\x1a")
	r.expect("\r\n+CMGS: " + itoaT(mr+1) + "\r\n\r\nOK\r\n")
	r.cmd(`AT+CSCS="IRA"`, "\r\nOK\r\n")
	r.cmd(`AT+CMGS="0664123"`, "\r\n> ")
	r.send("line1\rline2\x1a")
	r.expect("\r\n+CMGS: " + itoaT(mr+2) + "\r\n\r\nOK\r\n")
	r.cmd(`AT+CSCS="UCS2"`, "\r\nOK\r\n")
	r.cmd("AT+CSMP=49,167,0,8", "\r\nOK\r\n")
	r.cmd("AT+CSMP?", "\r\n+CSMP: 49,167,0,8\r\n\r\nOK\r\n")
	r.cmd(`AT+CMGS="002B00340033003100320033"`, "\r\n> ")
	r.send("00480069D83DDE00\x1a")
	r.expect("\r\n+CMGS: " + itoaT(mr+3) + "\r\n\r\nOK\r\n")
	// ESC cancels.
	r.cmd(`AT+CMGS="002B00340033003100320033"`, "\r\n> ")
	r.send("0048\x1b")
	r.expect("\r\nOK\r\n")

	sent := r.d.Sent()
	want := []struct{ to, text, alpha string }{
		{"+43123456789", "Hello World!", "gsm7"},
		{"+43123456789", "@ 5$", "gsm7"},
		{"0664123", "line1\nline2", "gsm7"},
		{"+43123", "Hi😀", "ucs2"},
	}
	if len(sent) != len(want) {
		t.Fatalf("Sent() = %+v; want %d messages", sent, len(want))
	}
	for i, w := range want {
		if sent[i].Recipient != w.to || sent[i].Text != w.text || sent[i].Alphabet != w.alpha || sent[i].Mode != "text" {
			t.Errorf("Sent()[%d] = %+v; want %+v", i, sent[i], w)
		}
	}
	if !sent[3].StatusReportRequested || sent[3].Validity != 24*time.Hour {
		t.Errorf("Sent()[3] = %+v; want a status report requested and 24 h validity", sent[3])
	}
}

func TestReceiveCMTI(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock})
	r.quiet()
	r.cmd("AT+CNMI=2,1,0,0,0", "\r\nOK\r\n")
	in, err := r.d.InjectSMS(IncomingSMS{From: "+436601234567", Text: "Hello"})
	if err != nil {
		t.Fatal(err)
	}
	if in.Parts != 1 || len(in.Stored) != 1 || in.Stored[0] != 0 || in.Waiting != 0 || in.Direct != 0 {
		t.Errorf("InjectSMS = %+v", in)
	}
	r.expect("\r\n+CMTI: \"SM\",0\r\n")
	r.cmd("AT+CPMS?", "\r\n+CPMS: \"SM\",1,30,\"SM\",1,30,\"SM\",1,30\r\n\r\nOK\r\n")
	r.cmd("AT+CMGL", "\r\n+CMGL: 0,0,,24\r\n"+helloPDU+"\r\n\r\nOK\r\n")
	r.cmd("AT+CMGR=0", "\r\n+CMGR: 1,,24\r\n"+helloPDU+"\r\n\r\nOK\r\n")
	r.cmd("AT+CMGL=0", "\r\nOK\r\n")
	r.cmd("AT+CMGL=4", "\r\n+CMGL: 0,1,,24\r\n"+helloPDU+"\r\n\r\nOK\r\n")
	r.cmd("AT+CMGF=1", "\r\nOK\r\n")
	r.cmd("AT+CMGR=0", "\r\n+CMGR: \"REC READ\",\"+436601234567\",,\"24/05/01,12:34:56+08\"\r\nHello\r\n\r\nOK\r\n")
	r.cmd("AT+CSDH=1", "\r\nOK\r\n")
	r.cmd("AT+CMGR=0", "\r\n+CMGR: \"REC READ\",\"+436601234567\",,\"24/05/01,12:34:56+08\",145,4,0,0,\"+4365009000000\",145,5\r\nHello\r\n\r\nOK\r\n")
	r.cmd(`AT+CMGL="ALL"`, "\r\n+CMGL: 0,\"REC READ\",\"+436601234567\",,\"24/05/01,12:34:56+08\",145,5\r\nHello\r\n\r\nOK\r\n")
	r.cmd(`AT+CSCS="UCS2"`, "\r\nOK\r\n")
	r.cmd("AT+CSDH=0", "\r\nOK\r\n")
	r.cmd("AT+CMGR=0", "\r\n+CMGR: \"REC READ\",\"002B003400330036003600300031003200330034003500360037\",,\"24/05/01,12:34:56+08\"\r\n00480065006C006C006F\r\n\r\nOK\r\n")
	r.cmd("AT+CMGR=1", "\r\nERROR\r\n")
	r.cmd("AT+CMEE=1", "\r\nOK\r\n")
	r.cmd("AT+CMGR=1", "\r\n+CMS ERROR: 321\r\n")
	r.cmd("AT+CMGR=30", "\r\n+CMS ERROR: 321\r\n")
	r.cmd("AT+CMGD=0", "\r\nOK\r\n")
	r.cmd("AT+CMGR=0", "\r\n+CMS ERROR: 321\r\n")
	msgs, err := r.d.Messages("SM")
	if err != nil || len(msgs) != 0 {
		t.Errorf("Messages(SM) = %v, %v; want none", msgs, err)
	}
}

func TestReceiveCMT(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock})
	r.quiet()
	r.cmd("AT+CNMI=2,2,0,0,0", "\r\nOK\r\n")
	if in, err := r.d.InjectSMS(IncomingSMS{From: "+436601234567", Text: "Hello"}); err != nil || in.Direct != 1 {
		t.Fatalf("InjectSMS = %+v, %v", in, err)
	}
	r.expect("\r\n+CMT: ,24\r\n" + helloPDU + "\r\n")
	r.cmd("AT+CMGF=1", "\r\nOK\r\n")
	if _, err := r.d.InjectSMS(IncomingSMS{From: "+436601234567", Text: "Hello"}); err != nil {
		t.Fatal(err)
	}
	r.expect("\r\n+CMT: \"+436601234567\",,\"24/05/01,12:34:56+08\"\r\nHello\r\n")
	r.cmd("AT+CSDH=1", "\r\nOK\r\n")
	if _, err := r.d.InjectSMS(IncomingSMS{From: "+436601234567", Text: "Hello"}); err != nil {
		t.Fatal(err)
	}
	r.expect("\r\n+CMT: \"+436601234567\",,\"24/05/01,12:34:56+08\",145,4,0,0,\"+4365009000000\",145,5\r\nHello\r\n")
	// A flash message (class 0): DCS 0x10.
	r.cmd("AT+CMGF=0", "\r\nOK\r\n")
	if _, err := r.d.InjectSMS(IncomingSMS{From: "+436601234567", Text: "Hello", Flash: true}); err != nil {
		t.Fatal(err)
	}
	r.expect("\r\n+CMT: ,24\r\n" + strings.Replace(helloPDU, "76000042", "76001042", 1) + "\r\n")
	if msgs, _ := r.d.Messages("SM"); len(msgs) != 0 {
		t.Errorf("direct messages were stored: %+v", msgs)
	}
}
