//go:build linux

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// outMsg is a message as /v1/messages shows it.
type outMsg struct {
	ID        string `json:"id"`
	To        string `json:"to"`
	Text      string `json:"text"`
	State     string `json:"state"`
	Reason    string `json:"reason"`
	PartCount int    `json:"partCount"`
	Parts     []struct {
		Seq       int    `json:"seq"`
		State     string `json:"state"`
		Reference *int   `json:"reference"`
		Attempts  int    `json:"attempts"`
	} `json:"parts"`
	History []struct {
		Seq   int    `json:"seq"`
		State string `json:"state"`
	} `json:"history"`
	Code string `json:"code"` // errors
}

// accept posts a message to /v1/messages and returns the code and answer.
func (s *stack) accept(body string, headers ...string) (int, outMsg) {
	s.t.Helper()
	var m outMsg
	code := s.callH("POST", "/v1/messages", body, &m, headers...)
	return code, m
}

// callH is call with extra headers (name, value, …) and the user key.
func (s *stack) callH(method, path, body string, out any, headers ...string) int {
	s.t.Helper()
	h := map[string]string{}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	code, b := s.rawH(method, "http://"+s.api+path, body, h)
	if out != nil && len(b) > 0 {
		if err := jsonUnmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %d %v: %s", method, path, code, err, b)
		}
	}
	return code
}

// message reads GET /v1/messages/{id}.
func (s *stack) message(id string) outMsg {
	s.t.Helper()
	var m outMsg
	if code := s.call("GET", "/v1/messages/"+url.PathEscape(id), userKey, "", &m); code != 200 {
		s.t.Fatalf("GET /v1/messages/%s: %d %+v", id, code, m)
	}
	return m
}

// waitMessage waits until the message is in one of the states.
func (s *stack) waitMessage(id string, limit time.Duration, states ...string) outMsg {
	s.t.Helper()
	var m outMsg
	s.waitFor("message "+id+" in "+strings.Join(states, "/"), limit, func() bool {
		m = s.message(id)
		for _, st := range states {
			if m.State == st {
				return true
			}
		}
		return false
	})
	return m
}

// outbox lists every outbound message, page by page.
func (s *stack) outbox() []outMsg { return allPages[outMsg](s, "/v1/messages?direction=out&limit=500") }

// storedOutbound are the STO UNSENT / STO SENT messages left in SM.
func (s *stack) storedOutbound() int {
	n := 0
	for _, m := range s.simStore("SM") {
		if m.Stat == "STO UNSENT" || m.Stat == "STO SENT" {
			n++
		}
	}
	return n
}

// Accept → 202 at once → sent at the simulator, with its parts' TP-MRs and
// the history of every transition.
func TestOutboxAcceptAndSend(t *testing.T) {
	s := newStack(t, stackOpts{})
	text := "Grüße 👋 " + strings.Repeat("outbox ", 12) // 2 UCS-2 parts
	began := time.Now()
	code, m := s.accept(`{"to":"0660 1234567","text":` + jsonString(text) + `,"statusReport":true,"validity":"24h"}`)
	took := time.Since(began)
	if code != 202 || m.State != "queued" || m.PartCount != 2 || m.To != "+436601234567" {
		t.Fatalf("%d %+v", code, m)
	}
	t.Logf("accepted in %v", took)
	// The simulator's network reports delivery: sent, then delivered.
	// Waiting for the last state keeps the metrics below from racing the
	// status report.
	got := s.waitMessage(m.ID, 20*time.Second, "delivered")
	sent := s.sent()
	if len(sent) != 1 || sent[0].Text != text || len(sent[0].Parts) != 2 || !sent[0].StatusReportRequested || sent[0].Validity != "24h0m0s" {
		t.Fatalf("sent %+v", sent)
	}
	for i, p := range got.Parts {
		if (p.State != "sent" && p.State != "delivered") || p.Reference == nil || *p.Reference != sent[0].Parts[i].MR || p.Attempts != 1 {
			t.Fatalf("part %d: %+v (the modem's MR %d)", i+1, p, sent[0].Parts[i].MR)
		}
	}
	if len(got.History) < 12 {
		t.Fatalf("history %+v", got.History)
	}
	if n := s.storedOutbound(); n != 0 {
		t.Fatalf("%d copies left in SM", n)
	}
	if m := s.apiMetrics(); !strings.Contains(m, `simmodem_api_messages{direction="out",state="`+got.State+`"} 1`) ||
		!strings.Contains(m, "simmodem_api_outbox_depth 0") {
		t.Fatalf("metrics:\n%s", grepLines(m, "simmodem_api_messages", "outbox"))
	}
}

func grepLines(text string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, s := range subs {
			if strings.Contains(l, s) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// The same key with the same body is the same message (200), with another
// body 409; it is sent once.
func TestOutboxIdempotency(t *testing.T) {
	s := newStack(t, stackOpts{})
	body := `{"to":"+436601234567","text":"only once"}`
	code, first := s.accept(body, "Idempotency-Key", "invoice-42")
	if code != 202 || first.ID != "invoice-42" {
		t.Fatalf("%d %+v", code, first)
	}
	for range 3 {
		if code, again := s.accept(body, "Idempotency-Key", "invoice-42"); code != 200 || again.ID != "invoice-42" {
			t.Fatalf("repeat: %d %+v", code, again)
		}
	}
	if code, again := s.accept(`{"id":"invoice-42","to":"+436601234567","text":"only once"}`); code != 200 || again.ID != "invoice-42" {
		t.Fatalf("repeat with id: %d %+v", code, again)
	}
	if code, c := s.accept(`{"to":"+436601234567","text":"another text"}`, "Idempotency-Key", "invoice-42"); code != 409 || c.Code != "conflict" {
		t.Fatalf("conflict: %d %+v", code, c)
	}
	s.waitMessage("invoice-42", 20*time.Second, "sent")
	time.Sleep(300 * time.Millisecond)
	if sent := s.sent(); len(sent) != 1 || sent[0].Text != "only once" {
		t.Fatalf("sent %+v", sent)
	}
}

// sendAt holds a message back; cancel removes a queued one for good;
// validUntil passing before it could be sent (the relay was down) expires
// it; a message accepted while the relay is down is sent when it is back.
func TestOutboxSendAtCancelExpire(t *testing.T) {
	s := newStack(t, stackOpts{})
	soon := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	_, timed := s.accept(`{"to":"+436601234567","text":"at its time","sendAt":"` + soon + `"}`)
	_, cancelled := s.accept(`{"to":"+436601234567","text":"never","sendAt":"` + later + `"}`)
	time.Sleep(500 * time.Millisecond)
	if m := s.message(timed.ID); m.State != "queued" || len(s.sent()) != 0 {
		t.Fatalf("sent before its sendAt: %+v %+v", m, s.sent())
	}
	var c outMsg
	if code := s.call("DELETE", "/v1/messages/"+cancelled.ID, userKey, "", &c); code != 200 || c.State != "cancelled" {
		t.Fatalf("cancel: %d %+v", code, c)
	}
	s.waitMessage(timed.ID, 20*time.Second, "sent")
	if code := s.call("DELETE", "/v1/messages/"+timed.ID, userKey, "", &c); code != 409 || c.Code != "not_cancellable" {
		t.Fatalf("cancel a sent message: %d %+v", code, c)
	}
	s.relay.stop(t)
	code, expiring := s.accept(`{"to":"+436601234567","text":"too late","validUntil":"` + time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano) + `"}`)
	_, waiting := s.accept(`{"to":"+436601234567","text":"while the relay was down"}`)
	if code != 202 || waiting.State != "queued" {
		t.Fatalf("accept with the relay down: %d %+v %+v", code, expiring, waiting)
	}
	time.Sleep(1500 * time.Millisecond)
	s.startRelay()
	e := s.waitMessage(expiring.ID, 20*time.Second, "expired")
	if !strings.Contains(e.Reason, "validUntil") {
		t.Fatalf("expired: %+v", e)
	}
	s.waitMessage(waiting.ID, 20*time.Second, "sent")
	time.Sleep(300 * time.Millisecond)
	var texts []string
	for _, m := range s.sent() {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, "|") != "at its time|while the relay was down" {
		t.Fatalf("sent %q", texts)
	}
}

// A permanent refusal (the network: +CMS ERROR 1, unassigned number)
// fails the message at once with the reason, without retries; /v1/sms
// answers 502 network_refused with the modem's error.
func TestOutboxPermanentFailure(t *testing.T) {
	s := newStack(t, stackOpts{})
	s.ctlCall("PUT", "/faults", `{"submitError":1}`, nil)
	_, m := s.accept(`{"to":"+436601234567","text":"nobody there"}`)
	got := s.waitMessage(m.ID, 20*time.Second, "failed")
	if !strings.Contains(got.Reason, "+CMS ERROR: 1") || got.Parts[0].Attempts != 1 || got.Parts[0].State != "failed" {
		t.Fatalf("%+v", got)
	}
	var r partStates
	if code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"nobody there either"}`, &r); code != 502 || r.Code != "network_refused" || r.states() != "failed" {
		t.Fatalf("/v1/sms: %d %+v", code, r)
	}
	if m := s.apiMetrics(); !strings.Contains(m, `simmodem_api_sms_parts_failed_total{modem="modem",reason="cms_1"} 2`) ||
		strings.Contains(m, `simmodem_api_outbox_retries_total{modem="modem",reason="cms_1"}`) {
		t.Fatalf("metrics:\n%s", grepLines(m, "parts_failed", "retries"))
	}
	if len(s.sent()) != 0 {
		t.Fatalf("sent %+v", s.sent())
	}
	if n := s.storedOutbound(); n != 0 {
		t.Fatalf("%d copies left in SM", n)
	}
}

// Not registered (+CMS ERROR 331) is transient: retried with backoff,
// sent once the network is back.
func TestOutboxTransientRetriesThenSends(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: []string{"API_RETRY_MIN=50ms", "API_RETRY_MAX=200ms"}})
	s.ctlCall("PUT", "/network", `{"reg":0}`, nil)
	_, m := s.accept(`{"to":"+436601234567","text":"when the network is back"}`)
	s.waitFor("a retry", 10*time.Second, func() bool {
		return strings.Contains(s.apiMetrics(), `simmodem_api_outbox_retries_total{modem="modem",reason="cms_331"}`)
	})
	if got := s.message(m.ID); got.State != "sending" {
		t.Fatalf("while not registered: %+v", got)
	}
	s.ctlCall("PUT", "/network", `{"reg":1}`, nil)
	got := s.waitMessage(m.ID, 20*time.Second, "sent")
	if got.Parts[0].Attempts < 2 {
		t.Fatalf("%+v", got)
	}
	if sent := s.sent(); len(sent) != 1 {
		t.Fatalf("sent %+v", sent)
	}
}

// Bad input: every field named, nothing reaches the modem.
func TestOutboxBadInput(t *testing.T) {
	s := newStack(t, stackOpts{})
	before := len(s.transcript())
	for _, c := range []struct {
		body, field string
		code        int
	}{
		{`{"to":"Bank","text":"x"}`, "to", 422},
		{`{"to":"+436601234567"}`, "text", 422},
		{`{"to":"+436601234567","dataHex":"abc"}`, "dataHex", 422},
		{`{"to":"+436601234567","text":"x","validUntil":"2000-01-01T00:00:00Z"}`, "validUntil", 422},
		{`{"to":"+436601234567","text":"x","id":"a b"}`, "id", 422},
		{`{"to":"+436601234567","text":"x","extra":true}`, "extra", 400},
	} {
		var e struct {
			Code   string `json:"code"`
			Fields []struct{ Field string }
		}
		code := s.callH("POST", "/v1/messages", c.body, &e)
		if code != c.code || len(e.Fields) == 0 || e.Fields[0].Field != c.field {
			t.Errorf("%s: %d %+v", c.body, code, e)
		}
	}
	time.Sleep(200 * time.Millisecond)
	for _, x := range s.transcript()[before:] {
		if strings.Contains(x.Command, "CMGW") || strings.Contains(x.Command, "CMSS") {
			t.Fatalf("bad input reached the modem: %+v", x)
		}
	}
	if n := len(s.outbox()); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

// rawH is raw with the user key and extra headers.
func (s *stack) rawH(method, u, body string, headers map[string]string) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+userKey)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
