//go:build linux

package control_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"
	"go.uber.org/goleak"

	"github.com/sim-modem-api/sim-modem-api/simulator/control"
	"github.com/sim-modem-api/sim-modem-api/simulator/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fixture struct {
	t    *testing.T
	sim  *sim.Simulator
	url  string
	port serial.Port
	buf  bytes.Buffer // bytes read from the port and not consumed yet
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, err := sim.Start(context.Background(), sim.Config{Link: filepath.Join(t.TempDir(), "ttyUSB2")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(control.Handler(s, nil))
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	f := &fixture{t: t, sim: s, url: srv.URL}
	f.open()
	f.at("ATE0", "\r\nOK\r\n")
	return f
}

func (f *fixture) open() {
	f.t.Helper()
	p, err := serial.Open(f.sim.Link(), &serial.Mode{BaudRate: 115200})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := p.SetReadTimeout(100 * time.Millisecond); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { p.Close() })
	f.port = p
	f.buf.Reset()
}

// readUntil reads from the port until what was read contains want, and
// returns everything up to and including it.
func (f *fixture) readUntil(want string) string {
	f.t.Helper()
	chunk := make([]byte, 512)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(f.buf.String(), want) {
		if time.Now().After(deadline) {
			f.t.Fatalf("no %q from the modem in 5 s; got %q", want, f.buf.String())
		}
		n, err := f.port.Read(chunk)
		if err != nil {
			f.t.Fatalf("read: %v", err)
		}
		f.buf.Write(chunk[:n])
	}
	s := f.buf.String()
	i := strings.Index(s, want) + len(want)
	f.buf.Reset()
	f.buf.WriteString(s[i:])
	return s[:i]
}

// at sends a command line and returns the response up to the final "OK" or
// error line that ends in want.
func (f *fixture) at(cmd, want string) string {
	f.t.Helper()
	if _, err := f.port.Write([]byte(cmd + "\r")); err != nil {
		f.t.Fatal(err)
	}
	return f.readUntil(want)
}

func (f *fixture) call(method, path, body string, wantCode int, out any) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if resp.StatusCode != wantCode {
		f.t.Fatalf("%s %s %s: status %d, want %d; body %s", method, path, body, resp.StatusCode, wantCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			f.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

func TestInjectStoresAndNotifies(t *testing.T) {
	f := newFixture(t)
	f.at("AT+CNMI=2,1,0,0,0", "\r\nOK\r\n")

	var res control.Injected
	f.call("POST", "/sms", `{"from":"+436601234567","text":"Grüße aus Wien 😀"}`, http.StatusCreated, &res)
	if res.Parts != 1 || len(res.Stored) != 1 {
		t.Fatalf("inject result %+v, want one stored part", res)
	}
	urc := f.readUntil("\r\n+CMTI: ")
	_ = urc
	line := f.readUntil("\r\n")
	if want := `"SM",` + itoa(res.Stored[0]) + "\r\n"; line != want {
		t.Fatalf("+CMTI rest %q, want %q", line, want)
	}

	var msgs []control.StoredSMS
	f.call("GET", "/messages/SM", "", http.StatusOK, &msgs)
	if len(msgs) != 1 || msgs[0].From != "+436601234567" || msgs[0].Text != "Grüße aus Wien 😀" || msgs[0].Stat != "REC UNREAD" {
		t.Fatalf("stored messages %+v", msgs)
	}
	f.call("GET", "/messages/XX", "", http.StatusNotFound, nil)
}

// TestSentShowsSubmittedSMS sends the SMS-SUBMIT vector of docs/modem-facts.md
// ("hellohello" to +46708251358) in PDU mode and reads it back.
func TestSentShowsSubmittedSMS(t *testing.T) {
	f := newFixture(t)
	f.at("AT+CMGF=0", "\r\nOK\r\n")
	if got := f.at("AT+CMGS=23", "> "); got != "\r\n> " {
		t.Fatalf("prompt %q", got)
	}
	if _, err := f.port.Write([]byte("0011000B916407281553F80000AA0AE8329BFD4697D9EC37\x1a")); err != nil {
		t.Fatal(err)
	}
	f.readUntil("\r\nOK\r\n")

	var sent []control.SentSMS
	f.call("GET", "/sent", "", http.StatusOK, &sent)
	if len(sent) != 1 || sent[0].Recipient != "+46708251358" || sent[0].Text != "hellohello" || sent[0].Mode != "pdu" || len(sent[0].Parts) != 1 {
		t.Fatalf("sent %+v", sent)
	}
	f.call("DELETE", "/sent", "", http.StatusNoContent, nil)
	f.call("GET", "/sent", "", http.StatusOK, &sent)
	if len(sent) != 0 {
		t.Fatalf("sent after DELETE: %+v", sent)
	}

	var tr []control.Exchange
	f.call("GET", "/transcript", "", http.StatusOK, &tr)
	var found bool
	for _, e := range tr {
		if e.Command == "AT+CMGS=23" && strings.HasSuffix(e.Response, "\r\nOK\r\n") {
			found = true
		}
	}
	if !found {
		t.Fatalf("transcript has no complete AT+CMGS=23 exchange: %+v", tr)
	}
}

func TestNetworkAndSIM(t *testing.T) {
	f := newFixture(t)
	var n control.Network
	f.call("PUT", "/network", `{"rssi":7,"ber":2}`, http.StatusOK, &n)
	if n.RSSI != 7 || n.BER != 2 || n.Reg == 0 {
		t.Fatalf("network after PUT %+v: rssi/ber not applied or other fields lost", n)
	}
	if got := f.at("AT+CSQ", "\r\nOK\r\n"); got != "\r\n+CSQ: 7,2\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CSQ answered %q", got)
	}
	f.call("PUT", "/network", `{"rssi":40}`, http.StatusBadRequest, nil)

	var s control.SIM
	f.call("PUT", "/sim", `{"state":"pin"}`, http.StatusOK, &s)
	if s.State != "pin" || s.PINAttempts != 3 {
		t.Fatalf("SIM after PUT %+v", s)
	}
	if got := f.at("AT+CPIN?", "\r\nOK\r\n"); got != "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CPIN? answered %q", got)
	}
	f.call("PUT", "/sim", `{"state":"broken"}`, http.StatusBadRequest, nil)
}

func TestStrictBodies(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/sms", `{"from":"+4366","txt":"typo"}`},
		{"POST", "/sms", `{"text":"no sender"}`},
		{"POST", "/sms", `{"from":"+4366","text":"a"} {"again":1}`},
		{"POST", "/sms", `not json`},
		{"PUT", "/faults", `{"delay":"soon"}`},
		{"PUT", "/faults", `{"noiseRate":2}`},
		{"POST", "/status-report", `{"mr":1}`},
		{"POST", "/urc", `{"line":""}`},
		{"POST", "/noise", `{"hex":"zz"}`},
		{"POST", "/unplug", `{"for":"-1s"}`},
		{"PUT", "/report-mode", `{"mode":"sometimes"}`},
	} {
		f.call(c.method, c.path, c.body, http.StatusBadRequest, nil)
	}
	f.call("POST", "/status-report", `{"mr":200,"status":0}`, http.StatusUnprocessableEntity, nil)
}

func TestFaultsAndURC(t *testing.T) {
	f := newFixture(t)
	var fl control.Faults
	f.call("PUT", "/faults", `{"dropEcho":true}`, http.StatusOK, &fl)
	if !fl.DropEcho || fl.Hang {
		t.Fatalf("faults after PUT %+v", fl)
	}
	f.call("POST", "/urc", `{"line":"+ZUSIMR:2"}`, http.StatusNoContent, nil)
	if got := f.readUntil("+ZUSIMR:2\r\n"); got != "\r\n+ZUSIMR:2\r\n" {
		t.Fatalf("URC arrived as %q", got)
	}
	f.call("POST", "/noise", `{"hex":"00ff"}`, http.StatusNoContent, nil)
	if got := f.readUntil("\x00\xff"); got != "\x00\xff" {
		t.Fatalf("noise arrived as %q", got)
	}
}

func TestUnplugAndReplug(t *testing.T) {
	f := newFixture(t)
	f.call("POST", "/unplug", "", http.StatusOK, nil)
	var st control.State
	f.call("GET", "/state", "", http.StatusOK, &st)
	if st.Plugged || st.PTY != "" {
		t.Fatalf("state after unplug %+v", st)
	}
	f.call("POST", "/unplug", "", http.StatusConflict, nil)
	f.call("POST", "/urc", `{"line":"RING"}`, http.StatusConflict, nil)
	f.call("POST", "/replug", "", http.StatusOK, nil)
	f.call("POST", "/replug", "", http.StatusConflict, nil)

	f.open()
	if got := f.at("AT", "\r\nOK\r\n"); got != "AT\r\r\nOK\r\n" {
		t.Fatalf("after replug AT answered %q (echo should be on again)", got)
	}

	f.call("POST", "/unplug", `{"for":"50ms"}`, http.StatusOK, nil)
	deadline := time.Now().Add(5 * time.Second)
	for !f.sim.Plugged() {
		if time.Now().After(deadline) {
			t.Fatal("not plugged back 5 s after unplug for 50ms")
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.call("GET", "/healthz", "", http.StatusOK, nil)
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
