package device

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

func TestStorageFullAndWaiting(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock, SMCapacity: 2})
	r.quiet()
	r.cmd("AT+CMEE=1", ok())
	r.cmd("AT+CNMI=2,1", ok())
	for i, want := range []string{"\r\n+CMTI: \"SM\",0\r\n", "\r\n+CMTI: \"SM\",1\r\n"} {
		in, err := r.d.InjectSMS(IncomingSMS{From: "+436601234567", Text: "msg " + itoa(i)})
		if err != nil || len(in.Stored) != 1 {
			t.Fatalf("InjectSMS = %+v, %v", in, err)
		}
		r.expect(want)
	}
	in, err := r.d.InjectSMS(IncomingSMS{From: "+436601234567", Text: "msg 2"})
	if err != nil || in.Waiting != 1 || len(in.Stored) != 0 {
		t.Fatalf("InjectSMS into a full store = %+v, %v; want 1 waiting", in, err)
	}
	in, err = r.d.InjectSMS(IncomingSMS{From: "+436601234567", Text: "msg 3"})
	if err != nil || in.Waiting != 1 {
		t.Fatalf("InjectSMS = %+v, %v; want 1 waiting", in, err)
	}
	r.cmd("AT+CPMS?", ok(`+CPMS: "SM",2,2,"SM",2,2,"SM",2,2`))
	r.cmd("AT+CMGW=23", "\r\n> ")
	r.send("0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a")
	r.expect("\r\n+CMS ERROR: 322\r\n")
	// Deleting frees space: the waiting messages arrive in order.
	r.cmd("AT+CMGD=0", ok()+"\r\n+CMTI: \"SM\",0\r\n")
	r.cmd("AT+CMGD=1", ok()+"\r\n+CMTI: \"SM\",1\r\n")
	msgs, err := r.d.Messages("SM")
	if err != nil || len(msgs) != 2 || msgs[0].Text != "msg 2" || msgs[1].Text != "msg 3" || msgs[0].From != "+436601234567" || msgs[0].Stat != 0 {
		t.Fatalf("Messages(SM) = %+v, %v", msgs, err)
	}
	r.cmd("AT+CMGD=0,4", ok())
	if msgs, _ := r.d.Messages("SM"); len(msgs) != 0 {
		t.Errorf("after CMGD=0,4: %+v", msgs)
	}
	r.cmd("AT+CMGD=2", "\r\n+CMS ERROR: 321\r\n")
	r.cmd("AT+CMGD=1", ok()) // empty index
}

func TestDeleteFlags(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock})
	r.quiet()
	for i := 0; i < 3; i++ {
		if _, err := r.d.InjectSMS(IncomingSMS{From: "1234", Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	r.cmd("AT+CMGW=23", "\r\n> ")
	r.send("0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a")
	r.expect(ok("+CMGW: 3"))
	r.cmd("AT+CMGW=23,3", "\r\n> ")
	r.send("0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a")
	r.expect(ok("+CMGW: 4"))
	r.send("AT+CMGR=0\r")
	r.readUntil("\r\nOK\r\n")
	indices := func() []int {
		msgs, err := r.d.Messages("SM")
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, m := range msgs {
			out = append(out, m.Index)
		}
		return out
	}
	r.cmd("AT+CMGD=?", ok("+CMGD: (0,1,2,3,4),(0-4)"))
	for _, tt := range []struct {
		flag string
		left string
	}{{"1", "[1 2 3 4]"}, {"2", "[1 2 3]"}, {"3", "[1 2]"}, {"4", "[]"}} {
		r.cmd("AT+CMGD=0,"+tt.flag, ok())
		if got := fmtInts(indices()); got != tt.left {
			t.Errorf("after AT+CMGD=0,%s: indices %s; want %s", tt.flag, got, tt.left)
		}
	}
}

func fmtInts(xs []int) string {
	var b strings.Builder
	b.WriteString("[")
	for i, x := range xs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(itoa(x))
	}
	b.WriteString("]")
	return b.String()
}

func TestWriteAndSendFromStorage(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock})
	r.quiet()
	mr := peekMR(r.d)
	r.cmd("AT+CMGF=1", ok())
	r.cmd(`AT+CMGW="+43123456789"`, "\r\n> ")
	r.send("Stored text\x1a")
	r.expect(ok("+CMGW: 0"))
	r.cmd("AT+CMGR=0", ok(`+CMGR: "STO UNSENT","+43123456789",`+"\r\nStored text"))
	r.cmd("AT+CSDH=1", ok())
	r.cmd("AT+CMGR=0", ok(`+CMGR: "STO UNSENT","+43123456789",,145,17,0,0,167,"",129,11`+"\r\nStored text"))
	r.cmd(`AT+CMGL="STO UNSENT"`, ok(`+CMGL: 0,"STO UNSENT","+43123456789",,,145,11`+"\r\nStored text"))
	r.cmd("AT+CMSS=0", ok("+CMSS: "+itoa(mr)))
	r.cmd(`AT+CMGL="STO SENT"`, ok(`+CMGL: 0,"STO SENT","+43123456789",,,145,11`+"\r\nStored text"))
	r.cmd(`AT+CMSS=0,"+4399"`, ok("+CMSS: "+itoa(mr+1)))
	r.cmd("AT+CMSS=5", errorReply)
	sent := r.d.Sent()
	if len(sent) != 2 || sent[0].Recipient != "+43123456789" || sent[1].Recipient != "+4399" || sent[0].Text != "Stored text" || sent[0].Mode != "text" {
		t.Errorf("Sent() = %+v", sent)
	}
	r.cmd("AT+CMGF=0", ok())
	r.cmd("AT+CMGR=0", ok("+CMGR: 3,,24\r\n00"+strings.ToUpper(hex.EncodeToString(mustSubmit(t, "+43123456789", "Stored text")))))
}

// mustSubmit encodes the SMS-SUBMIT that text mode builds with the
// power-on +CSMP 17,167,0,0.
func mustSubmit(t *testing.T, to, text string) []byte {
	t.Helper()
	a, err := pdu.ParseAddress(to)
	if err != nil {
		t.Fatal(err)
	}
	b, err := (&pdu.Submit{Destination: a, Validity: vpDuration(167), UD: pdu.UserData{Text: text}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMultipartOutOfOrder(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock, Seed: 3})
	r.quiet()
	r.cmd("AT+CNMI=2,1", ok())
	text := strings.Repeat("0123456789", 20) // 200 characters: two GSM parts
	in, err := r.d.InjectSMS(IncomingSMS{From: "+436601234567", Text: text, Order: []int{2, 1}, Ref16: true})
	if err != nil || in.Parts != 2 || len(in.Stored) != 2 {
		t.Fatalf("InjectSMS = %+v, %v", in, err)
	}
	r.expect("\r\n+CMTI: \"SM\",0\r\n\r\n+CMTI: \"SM\",1\r\n")
	msgs, err := r.d.Messages("SM")
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Messages = %+v, %v", msgs, err)
	}
	var ref uint16
	for i, wantSeq := range []int{2, 1} {
		raw, _ := hex.DecodeString(msgs[i].PDU)
		_, tpdu, err := pdu.SplitSMSC(raw)
		if err != nil {
			t.Fatal(err)
		}
		dl, err := pdu.DecodeDeliver(tpdu)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := dl.UD.Concat()
		if !ok || c.Seq != wantSeq || c.Total != 2 || !c.Ref16 || i > 0 && c.Ref != ref {
			t.Errorf("part at index %d: concat %+v, %v; want seq %d of 2, 16-bit ref %d", i, c, ok, wantSeq, ref)
		}
		ref = c.Ref
	}
	if msgs[0].Text+msgs[1].Text == text || msgs[1].Text+msgs[0].Text != text {
		t.Errorf("parts %q + %q do not make the text in order 2,1", msgs[0].Text, msgs[1].Text)
	}
	// Text mode shows a part with a header as hex.
	r.cmd("AT+CMGF=1", ok())
	r.send("AT+CMGR=1\r")
	got := r.readUntil("\r\nOK\r\n")
	if !strings.HasPrefix(got, "\r\n+CMGR: \"REC UNREAD\",\"+436601234567\",,\"24/05/01,12:34:56+08\"\r\n0608") {
		t.Errorf("text mode part with UDH: %q", got)
	}
}

func TestInjectVariants(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock})
	r.quiet()
	for _, tt := range []struct {
		in    IncomingSMS
		parts int
		text  string
	}{
		{IncomingSMS{From: "MyBank", Text: "Code 1234"}, 1, "Code 1234"},
		{IncomingSMS{From: "0664123", Text: "Grüße 😀"}, 1, "Grüße 😀"},
		{IncomingSMS{From: "12345", Text: "plain", Alphabet: "ucs2"}, 1, "plain"},
		{IncomingSMS{From: "12345", Text: strings.Repeat("é😀", 40), Alphabet: "ucs2"}, 2, strings.Repeat("é😀", 40)},
		{IncomingSMS{From: "12345", Alphabet: "8bit", Data: []byte{1, 2, 0xFF}}, 1, "0102FF"},
		{IncomingSMS{From: "12345", Text: "{[€]}", Alphabet: "gsm7"}, 1, "{[€]}"},
		{IncomingSMS{PDU: helloPDU}, 1, "Hello"},
	} {
		in, err := r.d.InjectSMS(tt.in)
		if err != nil || in.Parts != tt.parts {
			t.Errorf("InjectSMS(%+v) = %+v, %v; want %d parts", tt.in, in, err, tt.parts)
		}
	}
	msgs, _ := r.d.Messages("SM")
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
	}
	joined := strings.Join(texts, "|")
	for _, want := range []string{"Code 1234", "Grüße 😀", "plain", "0102FF", "{[€]}", "Hello"} {
		if !strings.Contains(joined, want) {
			t.Errorf("stored texts %q lack %q", joined, want)
		}
	}
	for _, bad := range []IncomingSMS{
		{From: "", Text: "x"},
		{From: "123", Text: "😀", Alphabet: "gsm7"},
		{From: "123", Text: "x", Alphabet: "klingon"},
		{From: "123", Text: "x", Order: []int{2}},
		{PDU: "zz"},
		{PDU: "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"}, // a SUBMIT
	} {
		if _, err := r.d.InjectSMS(bad); err == nil {
			t.Errorf("InjectSMS(%+v) succeeded", bad)
		}
	}
	r.cmd("AT+CMGF=1", ok())
	r.cmd(`AT+CSCS="UCS2"`, ok())
	r.send("AT+CMGR=1\r")
	if got := r.readUntil("\r\nOK\r\n"); !strings.Contains(got, "\r\n0047007200FC00DF00650020D83DDE00\r\n") {
		t.Errorf("UCS-2 message in UCS2 charset: %q", got)
	}
}

func TestStatusReports(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock})
	r.quiet()
	body := "0031000B916407281553F80000AA0AE8329BFD4697D9EC37" // SRR set
	mr := peekMR(r.d)
	mrHex := strings.ToUpper(hex.EncodeToString([]byte{byte(mr)}))
	report := "06" + mrHex + "0B916407281553F8" + "42501021436580" + "42501021436580" + "00"

	// ds=1: +CDS.
	r.cmd("AT+CNMI=2,1,0,1,0", ok())
	r.cmd("AT+CMGS=23", "\r\n> ")
	r.send(body + "\x1a")
	r.expect(ok("+CMGS: "+itoa(mr)) + "\r\n+CDS: 25\r\n" + smscHex + report + "\r\n")

	// ds=2: stored in SR, +CDSI.
	r.cmd("AT+CNMI=2,1,0,2,0", ok())
	r.cmd("AT+CMGS=23", "\r\n> ")
	r.send(body + "\x1a")
	report2 := "06" + strings.ToUpper(hex.EncodeToString([]byte{byte(mr + 1)})) + report[4:]
	r.expect(ok("+CMGS: "+itoa(mr+1)) + "\r\n+CDSI: \"SR\",0\r\n")
	r.cmd(`AT+CPMS="SR"`, ok("+CPMS: 1,20,0,30,0,30"))
	r.cmd("AT+CMGR=0", ok("+CMGR: 0,,25\r\n"+smscHex+report2))
	r.cmd("AT+CMGF=1", ok())
	r.cmd("AT+CMGR=0", ok(`+CMGR: "REC READ",6,`+itoa(mr+1)+`,"+46708251358",145,"24/05/01,12:34:56+08","24/05/01,12:34:56+08",0`))
	r.cmd(`AT+CMGL="ALL"`, ok(`+CMGL: 0,"REC READ",6,`+itoa(mr+1)+`,"+46708251358",145,"24/05/01,12:34:56+08","24/05/01,12:34:56+08",0`))

	// Manual mode: nothing until SendStatusReport; text mode +CDS.
	if err := r.d.SetReportMode(ReportManual); err != nil {
		t.Fatal(err)
	}
	r.cmd("AT+CNMI=2,1,0,1,0", ok())
	r.cmd("AT+CMGF=0", ok())
	r.cmd("AT+CMGS=23", "\r\n> ")
	r.send(body + "\x1a")
	r.expect(ok("+CMGS: " + itoa(mr+2)))
	r.cmd("AT+CMGF=1", ok())
	if err := r.d.SendStatusReport(mr+2, 0x41); err != nil {
		t.Fatal(err)
	}
	r.expect("\r\n+CDS: 6," + itoa(mr+2) + `,"+46708251358",145,"24/05/01,12:34:56+08","24/05/01,12:34:56+08",65` + "\r\n")
	if err := r.d.SendStatusReport((mr+100)%256, 0); err == nil {
		t.Error("SendStatusReport for an unknown MR succeeded")
	}
	if err := r.d.SetReportMode("sometimes"); err == nil {
		t.Error("SetReportMode accepted an unknown mode")
	}
	sent := r.d.Sent()
	if len(sent) != 3 || sent[0].Parts[0].Status != 0 || sent[2].Parts[0].Status != 0x41 || !sent[2].StatusReportRequested {
		t.Errorf("Sent() = %+v", sent)
	}
	r.d.ClearSent()
	if len(r.d.Sent()) != 0 {
		t.Error("ClearSent left messages")
	}
}

func TestSentGroupsConcatenatedParts(t *testing.T) {
	r := newRig(t, Config{Clock: fixedClock})
	r.quiet()
	a, _ := pdu.ParseAddress("+43123456789")
	_, uds, err := pdu.SplitText(strings.Repeat("abcdefghij", 20), 42, false)
	if err != nil || len(uds) != 2 {
		t.Fatal(uds, err)
	}
	for _, i := range []int{1, 0} {
		tpdu, err := (&pdu.Submit{Destination: a, StatusReportRequest: true, UD: uds[i]}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		r.cmd("AT+CMGS="+itoa(len(tpdu)), "\r\n> ")
		r.send("00" + hex.EncodeToString(tpdu) + "\x1a")
		r.readUntil("\r\nOK\r\n")
	}
	sent := r.d.Sent()
	if len(sent) != 1 || len(sent[0].Parts) != 2 || sent[0].Text != strings.Repeat("abcdefghij", 20) ||
		sent[0].Parts[0].Concat == nil || sent[0].Parts[0].Concat.Seq != 2 || sent[0].Parts[0].Concat.Ref != 42 {
		t.Errorf("Sent() = %+v", sent)
	}
}

// Stored messages, the sent log and the SIM state survive a new session.
func TestStateSurvivesReplug(t *testing.T) {
	d, err := New(Config{Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	r := serveRig(t, d)
	r.quiet()
	if _, err := d.InjectSMS(IncomingSMS{From: "+436601234567", Text: "Hello"}); err != nil {
		t.Fatal(err)
	}
	r.cmd(`AT+CSCA="+431111"`, ok())
	r.stop()
	// While unplugged, messages still arrive (stored).
	if in, err := d.InjectSMS(IncomingSMS{From: "+436601234567", Text: "Hello"}); err != nil || len(in.Stored) != 1 || in.Stored[0] != 1 {
		t.Fatalf("InjectSMS while unplugged = %+v, %v", in, err)
	}
	if err := d.InjectURC("+ZEND"); err != ErrNoSession {
		t.Errorf("InjectURC without session = %v; want ErrNoSession", err)
	}
	r2 := serveRig(t, d)
	r2.quiet()
	r2.cmd("AT+CMGR=0", "\r\n+CMGR: 0,,24\r\n"+helloPDU+"\r\n\r\nOK\r\n")
	r2.cmd("AT+CSCA?", ok(`+CSCA: "+431111",145`))
	r2.cmd("AT+CMGF?", ok("+CMGF: 0"))
}

// A part listed twice in Order is delivered twice (the network repeating
// it); every part must be listed at least once.
func TestInjectOrderWithDuplicate(t *testing.T) {
	d, err := New(Config{Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("0123456789", 20) // 2 parts
	res, err := d.InjectSMS(IncomingSMS{From: "+436601234567", Text: text, Order: []int{2, 1, 2}})
	if err != nil || res.Parts != 2 || len(res.Stored) != 3 {
		t.Fatalf("InjectSMS = %+v, %v; want 2 parts, 3 stored", res, err)
	}
	msgs, err := d.Messages("SM")
	if err != nil || len(msgs) != 3 || msgs[0].PDU != msgs[2].PDU || msgs[0].PDU == msgs[1].PDU {
		t.Fatalf("SM = %+v, %v; want part 2, part 1, part 2 again", msgs, err)
	}
	for _, bad := range [][]int{{1, 1}, {1, 3}, {2, 1, 2, 1, 2}} {
		if _, err := d.InjectSMS(IncomingSMS{From: "+436601234567", Text: text, Order: bad}); err == nil {
			t.Errorf("order %v accepted", bad)
		}
	}
}
