//go:build linux

package e2e

import (
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// readyz returns whether the api is ready and its reasons.
func (s *stack) readyz() (bool, []string) {
	s.t.Helper()
	var r struct {
		Ready   bool     `json:"ready"`
		Reasons []string `json:"reasons"`
	}
	code := s.call("GET", "/readyz", "", "", &r)
	if (code == 200) != r.Ready {
		s.t.Fatalf("/readyz %d with ready %v", code, r.Ready)
	}
	return r.Ready, r.Reasons
}

// waitNotReady waits until /readyz is 503 with a reason containing what.
func (s *stack) waitNotReady(what string) {
	s.t.Helper()
	waitFor(s.t, "/readyz not ready: "+what, func() bool {
		ok, why := s.readyz()
		return !ok && strings.Contains(strings.Join(why, "; "), what)
	})
}

// waitReadyz waits until /readyz is 200.
func (s *stack) waitReadyz() {
	s.t.Helper()
	waitFor(s.t, "/readyz ready", func() bool { ok, _ := s.readyz(); return ok })
}

// send posts one SMS and returns the status code and answer.
func (s *stack) send(text string) (int, smsResp) {
	s.t.Helper()
	var r smsResp
	code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":`+jsonString(text)+`}`, &r)
	return code, r
}

// Issue 8 item 1: the api is killed (SIGKILL) after it wrote AT+CMGW=<n>
// (the outbox's write of the part; AT+CMGS before) and before the body; the modem sits at the "> " prompt. The restarted api
// clears it (ESC first), becomes ready, and a send works; nothing of the
// restarted api's init became message text. On the old code the restarted
// api's ATE0 became body text and its init timed out forever.
func TestKilledBetweenCMGSAndBody(t *testing.T) {
	s := newStack(t, stackOpts{})
	// The modem answers every line 1.5 s late: the api is killed while
	// its AT+CMGS=<n> waits for the prompt.
	s.ctlCall("PUT", "/faults", `{"delay":"1500ms"}`, nil)
	reqDone := make(chan struct{})
	go func() {
		// The api dies under this request: whatever it answers (or not)
		// does not matter.
		defer close(reqDone)
		req, _ := http.NewRequest("POST", "http://"+s.api+"/v1/sms", strings.NewReader(`{"to":"+436601234567","text":"never sent"}`))
		req.Header.Set("Authorization", "Bearer "+userKey)
		if resp, err := s.client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "the relay to write AT+CMGW to the modem", func() bool {
		return strings.Contains(s.relay.stdout(), "SER_W ->AT+CMGW=")
	})
	if err := s.apiProc.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.apiProc.done
	<-reqDone
	s.ctlCall("PUT", "/faults", `{"delay":"0s"}`, nil)
	// The prompt is open by now (or opens while the api restarts).
	s.apiProc = start(t, s.dir, "api", s.apiEnv)
	s.waitReady()
	s.waitReadyz()
	if code, r := s.send("after the restart"); code != 200 {
		t.Fatalf("send after the restart: %d %+v", code, r)
	}
	// The first message was accepted (stored) before the kill: the outbox
	// sends it after the restart, once; no init line became text.
	waitFor(t, "both messages sent", func() bool { return len(s.sent()) == 2 })
	time.Sleep(300 * time.Millisecond)
	var texts []string
	for _, m := range s.sent() {
		texts = append(texts, m.Text)
	}
	if slices.Sort(texts); strings.Join(texts, "|") != "after the restart|never sent" {
		t.Errorf("the modem sent %q", texts)
	}
}

// Issue 8 items 1 and 4: raw AT commands that would wedge the modem are
// refused with 400 naming the command; those that change a setting the
// api relies on are run and the settings restored: a send works after each,
// and the api stays ready. On the old code AT +CMGS=10 (space), hex
// AT+CMGS=10\r, ATE1+CMGS=10, AT&F+CMGS=5, ATV0 and ATQ1 went to the modem,
// and after AT+CMGF=1, AT+CSCS="UCS2" or AT+CMEE=0 every send failed 502.
func TestRawATWedgesRefusedOrRestored(t *testing.T) {
	s := newStack(t, stackOpts{})
	for _, body := range []string{
		`{"command":"AT +CMGS=10"}`, `{"hex":"41542B434D47533D31300D"}`, `{"command":"ATE1+CMGS=10"}`,
		`{"command":"AT&F+CMGS=5"}`, `{"command":"ATV0"}`, `{"command":"ATQ1"}`, `{"hex":"415456300D"}`,
		`{"hex":"41545131450D"}`, `{"command":"A/"}`, `{"command":"ATS3=10"}`,
	} {
		var e struct {
			Code   string `json:"code"`
			Error  string `json:"error"`
			Fields []struct{ Field, Message string }
		}
		if code := s.call("POST", "/v1/at", s.key, body, &e); code != 400 || e.Code != "command_refused" || len(e.Fields) != 1 || !strings.Contains(e.Fields[0].Message, "refused") {
			t.Errorf("%s: %d %+v, want 400 command_refused", body, code, e)
		}
	}
	for _, cmd := range []string{`AT+CMGF=1`, `AT+CSCS=\"UCS2\"`, `AT+CMEE=0`, `ATZ`, `AT&F`, `ATE1`} {
		var x struct {
			Final      string `json:"final"`
			Transcript []struct {
				Restored bool `json:"restoredSettings"`
			} `json:"transcript"`
		}
		if code := s.call("POST", "/v1/at", s.key, `{"command":"`+cmd+`"}`, &x); code != 200 || x.Final != "OK" || len(x.Transcript) != 1 || !x.Transcript[0].Restored {
			t.Fatalf("%s: %d %+v", cmd, code, x)
		}
		if code, r := s.send("after " + cmd); code != 200 {
			t.Errorf("send after %s: %d %+v", cmd, code, r)
		}
		if ok, why := s.readyz(); !ok {
			t.Errorf("not ready after %s: %q", cmd, why)
		}
	}
}

// Issue 8 item 5: /readyz is not ready while the modem hangs, while its
// radio is off, while the SIM wants its PIN (and a send then answers 409
// sim_not_ready); ready again after each. On the old code /readyz stayed
// ready throughout and the send answered 502.
func TestReadyzFollowsTheModem(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: []string{"API_COMMAND_TIMEOUT=500ms"}})
	s.waitReadyz()

	s.ctlCall("PUT", "/faults", `{"hang":true}`, nil)
	s.waitNotReady("answer")
	s.ctlCall("PUT", "/faults", `{"hang":false}`, nil)
	s.waitReadyz()

	if code := s.call("POST", "/v1/at", s.key, `{"command":"AT+CFUN=0"}`, nil); code != 200 {
		t.Fatalf("AT+CFUN=0: %d", code)
	}
	s.waitNotReady("radio is off")
	var st struct {
		Ready    bool     `json:"ready"`
		NotReady []string `json:"notReady"`
		Status   struct{ Radio string }
	}
	if s.call("GET", "/v1/modem/status", userKey, "", &st); st.Ready || st.Status.Radio != "off" || len(st.NotReady) == 0 {
		t.Errorf("status with the radio off: %+v", st)
	}
	if code := s.call("POST", "/v1/at", s.key, `{"command":"AT+CFUN=1"}`, nil); code != 200 {
		t.Fatalf("AT+CFUN=1: %d", code)
	}
	s.waitReadyz()

	s.ctlCall("PUT", "/sim", `{"state":"pin"}`, nil)
	s.waitNotReady("PIN")
	if code, r := s.send("locked"); code != 409 || r.Code != "sim_not_ready" {
		t.Errorf("send with the SIM PIN: %d %+v, want 409 sim_not_ready", code, r)
	}
	if code := s.call("POST", "/v1/sim/pin", s.key, `{"pin":"1234"}`, nil); code != 200 {
		t.Fatalf("PIN: %d", code)
	}
	s.waitReadyz()
	if code, r := s.send("unlocked"); code != 200 {
		t.Errorf("send after the PIN: %d %+v", code, r)
	}
}

// Issue 8 item 2: a raw client sends "<heartbeat>AT+CFUN=0;" without CR
// and leaves; the api connects next. Its first bytes never combine with
// that partial line: the radio stays on, the api is ready and sends. This
// needs the relay's half (it discards a departing client's unterminated
// bytes); the api's half is the read-back of the modem's state in the
// status (radio) and readiness.
func TestPartialLineOfPreviousClient(t *testing.T) {
	s := newStack(t, stackOpts{})
	s.apiProc.stop(t)
	var c net.Conn
	waitFor(t, "a raw client in control", func() bool {
		var err error
		c, err = net.Dial("tcp", s.relayAddr)
		if err != nil {
			return false
		}
		if _, err = c.Write([]byte("<heartbeat>AT+CFUN=0;")); err != nil {
			c.Close()
			return false
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		b := make([]byte, 256)
		n, _ := c.Read(b)
		if strings.Contains(string(b[:n]), "already a client") {
			c.Close()
			return false
		}
		return true
	})
	c.Close()
	s.apiProc = start(t, s.dir, "api", s.apiEnv)
	s.waitReady()
	s.waitReadyz()
	var st struct{ Status struct{ Radio string } }
	if s.call("GET", "/v1/modem/status", userKey, "", &st); st.Status.Radio != "on" {
		t.Fatalf("radio %q after the partial line, want on", st.Status.Radio)
	}
	if code, r := s.send("after a partial line"); code != 200 {
		t.Fatalf("send: %d %+v", code, r)
	}
}
