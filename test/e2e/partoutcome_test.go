//go:build linux

package e2e

import (
	"os"
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

// The relay is killed right after the body of part 2 went to the modem
// (each answer 1.5 s late, so the window is wide): part 1 was sent, part 2
// may have been (the simulator did send it), part 3 was not attempted. The
// api says exactly that; before the fix it answered 503 "part 2 failed
// after 1 sent", and a client that retried sent part 2 twice.
func TestRelayKilledAfterBodyIsUnknown(t *testing.T) {
	s := newStack(t, stackOpts{})
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
	waitFor(t, "part 2's body at the modem", func() bool {
		sent := s.sent()
		return len(sent) == 1 && len(sent[0].Parts) == 2
	})
	if err := s.relay.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.code != 503 || res.r.Code != "sms_outcome_unknown" || res.r.states() != "sent,unknown,not_attempted" ||
		res.r.Parts[0].Reference == nil || res.r.Parts[1].Reference != nil || !strings.HasPrefix(res.r.ID, "sms_") {
		t.Fatalf("%d %+v", res.code, res.r)
	}
	if !strings.Contains(res.r.Error, "part 2: outcome unknown") || !strings.Contains(res.r.Error, "1 sent before") || strings.Contains(res.r.Error, "failed") {
		t.Fatalf("message %q", res.r.Error)
	}
	if sent := s.sent(); len(sent[0].Parts) != 2 || *res.r.Parts[0].Reference != sent[0].Parts[0].MR {
		t.Fatalf("the simulator sent %+v", sent)
	}
	m := s.apiMetrics()
	for _, want := range []string{`simmodem_api_sms_parts_unknown_total{reason="unavailable"} 1`, `simmodem_api_sms_messages_total{result="unknown"} 1`,
		`simmodem_api_sms_messages_total{result="failed"} 0`, "simmodem_api_sms_parts_sent_total 1"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// API_SMS_TIMEOUT=1s and the modem answers 1.5 s late: the part is
// unknown (504), the simulator's record shows it was sent, and the late
// +CMGS is logged with the message id. Before the fix: 504 "failed after
// 0 sent", counted as failed.
func TestSMSTimeoutAfterBodyIsUnknown(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: []string{"API_SMS_TIMEOUT=1s"}})
	s.ctlCall("PUT", "/faults", `{"delay":"1500ms"}`, nil)
	var r partStates
	code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"late but sent"}`, &r)
	if code != 504 || r.Code != "sms_outcome_unknown" || r.states() != "unknown" || strings.Contains(r.Error, "failed") {
		t.Fatalf("%d %+v", code, r)
	}
	if sent := s.sent(); len(sent) != 1 || sent[0].Text != "late but sent" {
		t.Fatalf("the simulator sent %+v", sent)
	}
	waitFor(t, "the late +CMGS in the api's log with the message id", func() bool {
		b, _ := os.ReadFile(s.apiProc.log)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "late +CMGS") && strings.Contains(l, "id="+r.ID) {
				return true
			}
		}
		return false
	})
	m := s.apiMetrics()
	for _, want := range []string{`simmodem_api_sms_parts_unknown_total{reason="timeout"} 1`, `simmodem_api_sms_parts_failed_total{reason="timeout"} 0`,
		"simmodem_api_sms_parts_late_sent_total 1"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The modem is in step again.
	s.ctlCall("PUT", "/faults", `{"delay":"0s"}`, nil)
	deadline := time.Now().Add(20 * time.Second)
	for s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"next"}`, nil) != 200 {
		if time.Now().After(deadline) {
			t.Fatal("no send works after the late answer")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
