//go:build linux

package e2e

import (
	"strings"
	"testing"
	"time"
)

// partStates is the per-part list of an SMS answer.
type partStates struct {
	Code  string `json:"code"`
	Error string `json:"error"`
	ID    string `json:"id"`
	Parts []struct {
		Seq       int    `json:"seq"`
		State     string `json:"state"`
		Reference *int   `json:"reference"`
	} `json:"parts"`
}

func (p partStates) states() string {
	var s []string
	for _, x := range p.Parts {
		s = append(s, x.State)
	}
	return strings.Join(s, ",")
}

// apiMetrics reads the api's metrics through the API port with a key.
func (s *stack) apiMetrics() string {
	_, b := s.raw("GET", "http://"+s.api+"/metrics", userKey, "")
	return string(b)
}

// The relay is killed right after part 2 went out (each answer 1.5 s
// late, so the window is wide): the request's time runs out with the
// message in the outbox (504 sms_in_progress, part 1 sent, none failed);
// when the relay is back the outbox reads part 2's stored copy back (STO
// SENT: it went out) and sends part 3. Every part went out exactly once.
// Before the outbox the answer was 503 sms_outcome_unknown for part 2, and
// part 3 was never sent.
func TestRelayKilledMidSendIsResolved(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: []string{"API_REQUEST_TIMEOUT=1s", "API_SMS_TIMEOUT=2s", "API_COMMAND_TIMEOUT=2s"}})
	s.ctlCall("PUT", "/faults", `{"delay":"1500ms"}`, nil)
	text := strings.Repeat("Part outcome ", 30) // 3 parts
	type result struct {
		code int
		r    partStates
	}
	done := make(chan result, 1)
	go func() {
		var r partStates
		code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":`+jsonString(text)+`}`, &r)
		done <- result{code, r}
	}()
	waitFor(t, "part 2 at the network", func() bool {
		sent := s.sent()
		return len(sent) == 1 && len(sent[0].Parts) == 2
	})
	if err := s.relay.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.relay.done
	res := <-done
	if res.code != 504 || res.r.Code != "sms_in_progress" || !strings.HasPrefix(res.r.ID, "sms_") || strings.Contains(res.r.states(), "failed") ||
		res.r.Parts[0].State != "sent" || res.r.Parts[0].Reference == nil {
		t.Fatalf("%d %+v", res.code, res.r)
	}
	s.ctlCall("PUT", "/faults", `{"delay":"0s"}`, nil)
	s.startRelay()
	m := s.waitMessage(res.r.ID, 30*time.Second, "sent", "delivered")
	sent := s.sent()
	if len(sent) != 1 || len(sent[0].Parts) != 3 || sent[0].Text != text {
		t.Fatalf("the simulator sent %+v", sent)
	}
	if *m.Parts[0].Reference != sent[0].Parts[0].MR {
		t.Fatalf("part 1's reference %d, the modem's %d", *m.Parts[0].Reference, sent[0].Parts[0].MR)
	}
	if n := s.storedOutbound(); n != 0 {
		t.Fatalf("%d copies left in SM", n)
	}
	if metrics := s.apiMetrics(); !strings.Contains(metrics, `simmodem_api_sms_parts_sent_total{modem="modem"} 3`) ||
		!strings.Contains(metrics, `simmodem_api_sms_parts_unknown_total{modem="modem",reason="other"} 0`) {
		t.Fatalf("metrics:\n%s", grepLines(metrics, "sms_parts"))
	}
}

// API_SMS_TIMEOUT=1s and the modem answers 1.5 s late: AT+CMSS times out
// after the part went out. The outbox reads the stored copy back (STO
// SENT), so the part is sent, once, without its reference: 200, never
// "unknown", and the modem is in step for the next send. Before the
// outbox: 504 sms_outcome_unknown.
func TestSMSTimeoutAfterSubmissionIsResolved(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: []string{"API_SMS_TIMEOUT=1s", "API_RETRY_MIN=100ms", "API_RETRY_MAX=500ms"}})
	s.ctlCall("PUT", "/faults", `{"delay":"1500ms"}`, nil)
	var r partStates
	code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"late but sent"}`, &r)
	if code != 200 || r.states() != "sent" {
		t.Fatalf("%d %+v", code, r)
	}
	if sent := s.sent(); len(sent) != 1 || sent[0].Text != "late but sent" {
		t.Fatalf("the simulator sent %+v", sent)
	}
	if m := s.apiMetrics(); !strings.Contains(m, `simmodem_api_sms_parts_unknown_total{modem="modem",reason="timeout"} 0`) ||
		!strings.Contains(m, `simmodem_api_sms_parts_sent_total{modem="modem"} 1`) {
		t.Errorf("metrics:\n%s", grepLines(m, "sms_parts"))
	}
	s.ctlCall("PUT", "/faults", `{"delay":"0s"}`, nil)
	if code, r := s.send("next"); code != 200 {
		t.Fatalf("next: %d %+v", code, r)
	}
	if n := s.storedOutbound(); n != 0 {
		t.Fatalf("%d copies left in SM", n)
	}
}
