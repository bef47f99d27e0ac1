package modemops

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/simulator/device"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is an engine talking to a simulated device over a pipe.
type rig struct {
	d   *device.Device
	e   *at.Engine
	ops *Ops
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	d, err := device.New(device.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { d.Serve(ctx, b); close(served) }()
	r := &rig{d: d, ops: New(cfg)}
	r.e = at.New(ctx, a, at.WithDefaultHandler(func(u at.URC) { r.ops.HandleURC(u) }))
	r.e.Handle("+CUSD", func(u at.URC) { r.ops.HandleURC(u) })
	t.Cleanup(func() {
		cancel()
		r.e.Close()
		b.Close()
		<-served
	})
	if err := r.ops.Init(ctx, r.e); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestIdentityAndStatus(t *testing.T) {
	r := newRig(t, Config{})
	ctx := context.Background()
	id, err := r.ops.Identity(ctx, r.e)
	if err != nil {
		t.Fatal(err)
	}
	if id.Manufacturer != "ZTE CORPORATION" || id.Model != "MF831" || len(id.IMEI) != 15 || id.IMSI == "" || id.ICCID == "" {
		t.Fatalf("identity %+v", id)
	}
	st, err := r.ops.ReadStatus(ctx, r.e)
	if err != nil {
		t.Fatal(err)
	}
	if st.SIM != "ready" || st.RegistrationCode != 1 || st.Registration != "home" || st.Operator == "" ||
		st.Signal.RSSIdBm == nil || st.Signal.Bars == 0 || st.AccessTechnology == "" {
		t.Fatalf("status %+v", st)
	}
	if err := r.d.SetSIM(device.SIMState("pin")); err != nil {
		t.Fatal(err)
	}
	if st, err = r.ops.ReadStatus(ctx, r.e); err != nil || st.SIM != "pin" {
		t.Fatalf("status with PIN: %+v %v", st, err)
	}
	if _, err := r.ops.EnterPIN(ctx, r.e, "0000", ""); err == nil {
		t.Fatal("wrong PIN accepted")
	}
	pin := r.d.Config().PIN
	if s, err := r.ops.EnterPIN(ctx, r.e, pin, ""); err != nil || s != "ready" {
		t.Fatalf("PIN %q: %q %v", pin, s, err)
	}
}

// What Prepare encodes is what the modem decodes and sends: each part is
// stored and sent the outbox's way (AT+CMGW, AT+CMSS) and the simulated
// modem's record of the sent message is compared with the request.
func TestPrepareRoundTrip(t *testing.T) {
	r := newRig(t, Config{})
	ctx := context.Background()
	for _, text := range []string{
		"Hello World!",
		"Extension chars: [€] {~} ^|\\",
		"Emoji 😀👋🏽 and ünïcödé",
		strings.Repeat("GSM seven bit text. ", 20), // 2–3 parts
		strings.Repeat("😀", 100),                   // UCS-2, 3+ parts
	} {
		p, err := r.ops.Prepare(SMS{To: "+436601234567", Text: text, StatusReport: true, Validity: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var mrs []int
		for i, body := range p.PDUs {
			tpduLen := len(body)/2 - 1 // the SMSC part is "00": the modem's own
			w, err := r.e.SMSCommand(ctx, "+CMGW="+strconv.Itoa(tpduLen), body)
			if err != nil {
				t.Fatalf("part %d: AT+CMGW: %v", i+1, err)
			}
			idx, _ := w.Value("+CMGW")
			s, err := r.e.Command(ctx, "+CMSS="+strings.TrimSpace(idx))
			if err != nil {
				t.Fatalf("part %d: AT+CMSS=%s: %v", i+1, idx, err)
			}
			v, _ := s.Value("+CMSS")
			mr, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("part %d: +CMSS: %q", i+1, v)
			}
			mrs = append(mrs, mr)
		}
		sent := r.d.Sent()
		got := sent[len(sent)-1]
		if got.Text != text || got.Recipient != "+436601234567" || len(got.Parts) != len(p.PDUs) || !got.StatusReportRequested {
			t.Fatalf("sent %q to %s in %d parts (we sent %d), want %q", got.Text, got.Recipient, len(got.Parts), len(p.PDUs), text)
		}
		for i, mr := range mrs {
			if mr != got.Parts[i].MR {
				t.Errorf("part %d: reference %d, modem says %d", i+1, mr, got.Parts[i].MR)
			}
		}
	}
}

func TestPrepareRejects(t *testing.T) {
	o := New(Config{})
	for _, tc := range []struct {
		sms   SMS
		field string
	}{
		{SMS{To: "+43660", Text: strings.Repeat("😀", 67*255+1)}, "text"},
		{SMS{To: "+43660", Text: "\xff"}, "text"},
		{SMS{To: "+43660", Text: "x", Validity: time.Minute}, "validity"},
		{SMS{To: "MyBank", Text: "x"}, "to"},
	} {
		_, err := o.Prepare(tc.sms)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("Prepare(%.20q…) = %v, want a field error on %s", tc.sms.Text, err, tc.field)
		}
	}
}

func TestUSSD(t *testing.T) {
	r := newRig(t, Config{USSDTimeout: 5 * time.Second})
	ctx := context.Background()
	res, err := r.ops.USSD(ctx, r.e, "*100#")
	if err != nil || res.Text != "Your balance is EUR 12.34" || res.Status != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	u := r.d.USSD()
	u.UCS2Quirk = true
	if err := r.d.SetUSSD(u); err != nil {
		t.Fatal(err)
	}
	res, err = r.ops.USSD(ctx, r.e, "*100#")
	if err != nil || res.Text != "Your balance is EUR 12.34" || res.DCS != 7 {
		t.Fatalf("quirk: %+v %v", res, err)
	}
	u.UCS2Quirk = false
	if err := r.d.SetUSSD(u); err != nil {
		t.Fatal(err)
	}
	res, err = r.ops.USSD(ctx, r.e, "*101#")
	if err != nil || res.Status != 1 || res.Text != "Menu\n1 Balance\n2 Data packages\n3 Exit" {
		t.Fatalf("menu: %+v %v", res, err)
	}
	res, err = r.ops.USSD(ctx, r.e, "2")
	if err != nil || res.Status != 1 || !strings.HasPrefix(res.Text, "Data packages\n1 1 GB") {
		t.Fatalf("menu choice: %+v %v", res, err)
	}
	if res, err = r.ops.USSD(ctx, r.e, "1"); err != nil || res.Status != 0 || res.Text != "1 GB booked. Thank you!" {
		t.Fatalf("menu end: %+v %v", res, err)
	}
	res, err = r.ops.USSD(ctx, r.e, "*999#")
	if err != nil || res.Status != 4 {
		t.Fatalf("unknown code: %+v %v", res, err)
	}
	if _, err := r.ops.USSD(ctx, r.e, `*100#",15;+CMGS`); !errors.Is(err, ErrInvalid) {
		t.Fatalf("smuggled: %v", err)
	}
}

func TestRaw(t *testing.T) {
	r := newRig(t, Config{})
	ctx := context.Background()
	rc, err := ParseReadable("AT+CSQ", "<heartbeat>")
	if err != nil {
		t.Fatal(err)
	}
	x, err := r.ops.Raw(ctx, r.e, rc, 0)
	if err != nil || x.Final != "OK" || len(x.Response) != 1 || !strings.HasPrefix(x.Response[0], "+CSQ:") {
		t.Fatalf("%+v %v", x, err)
	}
	rc, _ = ParseReadable("+CFOO", "")
	if x, err = r.ops.Raw(ctx, r.e, rc, 0); err == nil || !strings.HasPrefix(x.Final, "+CME ERROR: 100") {
		t.Fatalf("%+v %v", x, err)
	}
	// hex with ';' and with an SMS body
	rc, err = ParseHex("41542B43474D493B2B43474D4D0D", "<heartbeat>") // AT+CGMI;+CGMM\r
	if err != nil {
		t.Fatal(err)
	}
	if x, err = r.ops.Raw(ctx, r.e, rc, 0); err != nil || len(x.Response) != 2 {
		t.Fatalf("%+v %v", x, err)
	}
}

func TestParseRawRejects(t *testing.T) {
	for _, s := range []string{"AT+CSQ\r", "+CSQ;+CMGS=1", "AT+CMGS=12", "+CSQ\x1a", "+CSQ\x1b", "+CSQ<heartbeat>", "AT+CGMI\nAT"} {
		if _, err := ParseReadable(s, "<heartbeat>"); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseReadable(%q) accepted", s)
		}
	}
	for _, h := range []string{"zz", "41540D41540D" /* two lines */, "41542B4353510D1B" /* ESC */, "41542B435351" /* no CR */, "3C6865617274626561743E" /* sentinel */, "4154", "5858580D"} {
		if _, err := ParseHex(h, "<heartbeat>"); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseHex(%q) accepted", h)
		}
	}
	rc, err := ParseHex("41542B434D47533D31300D3030313130301A", "<heartbeat>")
	if err != nil || !rc.HasBody || rc.Line != "+CMGS=10" || rc.Body != "001100" {
		t.Errorf("body: %+v %v", rc, err)
	}
}

func TestParseCUSD(t *testing.T) {
	for in, want := range map[string]string{
		`0,"Your balance",15`: "Your balance",
		`0,"00480069",7`:      "Hi",
		`0,"00480069",72`:     "Hi",
		`1,"Menu",15`:         "Menu",
		`4`:                   "",
	} {
		r, err := ParseCUSD(in)
		if err != nil || r.Text != want {
			t.Errorf("ParseCUSD(%q) = %+v, %v; want %q", in, r, err, want)
		}
	}
}
