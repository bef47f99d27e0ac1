//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// waitFor polls cond for up to 20 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The modem is unplugged in the middle of a 10-part send: the message is
// in the outbox, so after the replug the api reconnects, re-initialises
// the modem and sends the rest; the caller, who waited, gets 200 with
// every part sent, and the network got each part exactly once. (Before
// the outbox: a 503 naming the parts that went out, the rest never sent.)
func TestUnplugDuringSend(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: []string{"API_SMS_PACING=150ms", "API_RETRY_MIN=50ms", "API_RETRY_MAX=300ms"}})
	text := strings.Repeat("Unplug me ", 150) // 10 parts
	type result struct {
		code int
		r    smsResp
	}
	done := make(chan result, 1)
	go func() {
		var r smsResp
		code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":`+jsonString(text)+`}`, &r)
		done <- result{code, r}
	}()
	waitFor(t, "the first part to reach the modem", func() bool {
		sent := s.sent()
		return len(sent) > 0 && len(sent[len(sent)-1].Parts) >= 1
	})
	s.ctlCall("POST", "/unplug", `{"for":"500ms"}`, nil)
	res := <-done
	if res.code != 200 || res.r.PartCount != 10 {
		t.Fatalf("send during unplug: %d %+v, want 200 with the 10 parts", res.code, res.r)
	}
	if sent := s.sent(); len(sent) != 1 || len(sent[0].Parts) != 10 || sent[0].Text != text {
		t.Fatalf("the network got %+v, want the 10 parts once", sent)
	}
	if n := s.storedOutbound(); n != 0 {
		t.Fatalf("%d copies left in SM", n)
	}
	s.waitReady()
	var r smsResp
	if code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"back again ✓"}`, &r); code != 200 {
		t.Fatalf("after replug: %d %+v", code, r)
	}
	sent := s.sent()
	if sent[len(sent)-1].Text != "back again ✓" {
		t.Fatalf("received %q", sent[len(sent)-1].Text)
	}
}

// The relay stops: requests fail cleanly with 503, metrics say the modem is
// unreachable (no stale values); the relay comes back: the api reconnects.
func TestRelayRestart(t *testing.T) {
	s := newStack(t, stackOpts{})
	s.relay.stop(t)
	var r smsResp
	if code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"x"}`, &r); code != 503 || r.Code != "modem_unavailable" {
		t.Fatalf("with the relay down: %d %+v", code, r)
	}
	var o struct{ Result string }
	if code := s.call("GET", "/info/signal-quality", userKey, "", &o); code != 503 || o.Result != "UNAVAILABLE" {
		t.Fatalf("original endpoint with the relay down: %d %+v", code, o)
	}
	if code := s.call("GET", "/readyz", "", "", nil); code != 503 {
		t.Fatalf("readyz with the relay down: %d", code)
	}
	waitFor(t, "modem_up 0", func() bool {
		m := s.metrics()
		return strings.Contains(m, "\nmodem_up{modem=\"modem\"} 0\n") && !strings.Contains(m, "modem_signal_rssi_dbm") &&
			strings.Contains(m, "\nsimmodem_api_relay_connected{modem=\"modem\"} 0\n")
	})
	s.startRelay()
	s.waitReady()
	if code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"relay is back"}`, &r); code != 200 {
		t.Fatalf("after the relay restart: %d %+v", code, r)
	}
	m := s.metrics()
	for _, want := range []string{
		"\nmodem_up{modem=\"modem\"} 1\n", "\nsimmodem_api_relay_connected{modem=\"modem\"} 1\n", "\nsimmodem_api_relay_reconnects_total{modem=\"modem\"} 1\n",
		`simmodem_api_relay_disconnects_total{modem="modem",reason="relay_shutting_down"} 1`, "\nmodem_signal_rssi_dbm{modem=\"modem\"} -73\n",
		`simmodem_api_at_commands_total{command="+CMSS",modem="modem",result="ok"} 1`, `simmodem_api_sms_parts_sent_total{modem="modem"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// The heartbeat keeps the api in control and never reaches the modem.
func TestHeartbeatKeepsControl(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: []string{"API_HEARTBEAT=50ms"}})
	heartbeats := regexp.MustCompile(`(?m)^relay_heartbeats_received_total (\d+)$`)
	waitFor(t, "20 heartbeats at the relay", func() bool {
		_, b := s.raw("GET", "http://"+s.relayM+"/metrics", "", "")
		m := heartbeats.FindSubmatch(b)
		if m == nil {
			return false
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n >= 20
	})
	_, b := s.raw("GET", "http://"+s.relayM+"/metrics", "", "")
	if regexp.MustCompile(`relay_client_disconnects_total\{reason="heartbeat_timeout"\} [1-9]`).Match(b) {
		t.Error("the relay disconnected the api for a heartbeat timeout")
	}
	if code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"still in control"}`, nil); code != 200 {
		t.Fatalf("send: %d", code)
	}
	for _, x := range s.transcript() {
		if strings.Contains(x.Command, "heartbeat") || strings.Contains(x.Body, "heartbeat") {
			t.Fatalf("a heartbeat reached the modem: %+v", x)
		}
	}
}

// The README's one-command Unicode multipart send works as documented.
func TestREADMECurl(t *testing.T) {
	readme, err := os.ReadFile("../../services/api/README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`localhost:8090/v1/sms \\\n\s+-d '(\{[^']*\})'`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("no multipart curl example in services/api/README.md")
	}
	s := newStack(t, stackOpts{})
	var r smsResp
	if code := s.call("POST", "/v1/sms", userKey, string(m[1]), &r); code != 200 || r.Encoding != "ucs2" || r.PartCount != 3 {
		t.Fatalf("%d %+v", code, r)
	}
	var req struct{ Text string }
	json.Unmarshal(m[1], &req)
	sent := s.sent()
	if sent[len(sent)-1].Text != req.Text {
		t.Fatalf("received %q", sent[len(sent)-1].Text)
	}
}

// A caller that gives up mid-send does not stop the job: every part goes
// out, and the modem is never left mid-command.
func TestCallerLeavesMidSend(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: []string{"API_SMS_PACING=100ms"}})
	text := strings.Repeat("Keep going ", 40) // 3 parts
	req, _ := http.NewRequest("POST", "http://"+s.api+"/v1/sms", strings.NewReader(`{"to":"+436601234567","text":`+jsonString(text)+`}`))
	req.Header.Set("Authorization", "Bearer "+userKey)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := s.client.Do(req.WithContext(ctx))
		if err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "the first part", func() bool { return len(s.sent()) > 0 })
	cancel() // the caller disconnects
	<-done
	waitFor(t, "all 3 parts", func() bool {
		sent := s.sent()
		return len(sent) == 1 && len(sent[0].Parts) == 3
	})
	if got := s.sent()[0].Text; got != text {
		t.Fatalf("received %q", got)
	}
	// The modem is in step: the next request works.
	if code := s.call("GET", "/info/signal-quality", userKey, "", nil); code != 200 {
		t.Fatalf("after the caller left: %d", code)
	}
}
