package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/modemid"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/outbox"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/submit"
)

// withOutbox (the worker with these AT timeouts) gives d a real store (in t.TempDir()) and a running outbox
// worker on sched, as main wires them.
// oneModem routes as the api does with the one modem "modem".
type oneModem struct{ country string }

func (oneModem) Route(modem, _ string) ([]string, error) {
	switch modem {
	case "":
		return nil, nil
	case "modem":
		return []string{modem}, nil
	}
	return nil, errors.New("no modem " + modem + " (the modems are modem)")
}

func (r oneModem) DefaultCountry(string) string { return r.country }

func withOutbox(t *testing.T, d *Deps, ops *modemops.Ops, sched *scheduler.Scheduler[modemops.AT], smsTimeout, commandTimeout time.Duration) {
	t.Helper()
	st, err := store.OpenDir(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := modemid.New(st, ops, "modem")
	w := outbox.New(outbox.Config{Store: st, Sched: sched, Modem: tr, SMSTimeout: smsTimeout, CommandTimeout: commandTimeout,
		RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait(); st.Close() })
	d.Store, d.Outbox = st, w
	d.Submit = submit.New(submit.Config{Store: st, Prepare: ops.Prepare, Router: oneModem{d.DefaultCountry},
		Accepted: func(*store.Message) { w.Kick() }})
	if ok, _ := d.Ready(); ok { // let its first job (identity, reconcile) end before the test looks at the modem
		deadline := time.Now().Add(5 * time.Second)
		for _, cached := tr.Cached(); !cached || sched.Depth() > 0; _, cached = tr.Cached() {
			if time.Now().After(deadline) {
				t.Fatal("the outbox worker did not start")
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// doH is do with extra headers.
func (r *rig) doH(t *testing.T, method, path, body string, headers map[string]string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+userKey)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := r.app.Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
	return resp.StatusCode, m
}

// waitState polls GET /v1/messages/{id} until the message is in state.
func (r *rig) waitState(t *testing.T, id, state string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := r.do(t, "GET", "/v1/messages/"+id, userKey, "")
		if code == 200 && body["state"] == state {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s: %d %v, want %s", id, code, body, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMessagesAcceptSendGet(t *testing.T) {
	r := newRig(t, false)
	code, body := r.do(t, "POST", "/v1/messages", userKey, `{"to":"0660 1234567","text":"Grüße 👋 `+strings.Repeat("ab", 40)+`","statusReport":true}`)
	if code != 202 || body["state"] != "queued" || body["to"] != "+436601234567" || body["partCount"].(float64) != 2 || body["direction"] != "out" {
		t.Fatalf("%d %v", code, body)
	}
	id := body["id"].(string)
	got := r.waitState(t, id, "sent")
	parts := got["parts"].([]any)
	p0 := parts[0].(map[string]any)
	if len(parts) != 2 || p0["state"] != "sent" || p0["reference"] == nil || p0["sentAt"] == nil {
		t.Fatalf("parts %v", parts)
	}
	var states []string
	for _, h := range got["history"].([]any) {
		hm := h.(map[string]any)
		states = append(states, fmt.Sprint(hm["seq"], ":", hm["state"]))
	}
	if h := strings.Join(states, " "); !strings.HasPrefix(h, "0:queued 0:sending 1:writing 1:written 1:submitting 1:sent") || !strings.Contains(h, " 0:sent") {
		t.Fatalf("history %s", h)
	}
	if sent := r.d.Sent(); len(sent) != 1 || len(sent[0].Parts) != 2 || !sent[0].StatusReportRequested {
		t.Fatalf("sent %+v", sent)
	}
	// 8-bit data.
	code, body = r.do(t, "POST", "/v1/messages", userKey, `{"to":"+436601234567","dataHex":"c0ffee00"}`)
	if code != 202 || body["dataHex"] != "C0FFEE00" {
		t.Fatalf("data: %d %v", code, body)
	}
	r.waitState(t, body["id"].(string), "sent")
	if sent := r.d.Sent(); len(sent) != 2 || sent[1].Text != "C0FFEE00" || sent[1].Alphabet != "8bit" {
		t.Fatalf("sent %+v", sent[len(sent)-1])
	}
}

func TestMessagesIdempotency(t *testing.T) {
	r := newRig(t, false)
	body := `{"to":"+436601234567","text":"once","sendAt":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`
	code, first := r.doH(t, "POST", "/v1/messages", body, map[string]string{"Idempotency-Key": "order-1"})
	if code != 202 || first["id"] != "order-1" {
		t.Fatalf("%d %v", code, first)
	}
	code, again := r.doH(t, "POST", "/v1/messages", body, map[string]string{"Idempotency-Key": "order-1"})
	if code != 200 || again["id"] != "order-1" || again["createdAt"] != first["createdAt"] {
		t.Fatalf("repeat: %d %v", code, again)
	}
	code, again = r.do(t, "POST", "/v1/messages", userKey, strings.Replace(body, `{`, `{"id":"order-1",`, 1))
	if code != 200 || again["id"] != "order-1" {
		t.Fatalf("repeat with id: %d %v", code, again)
	}
	code, conflict := r.doH(t, "POST", "/v1/messages", strings.Replace(body, "once", "twice", 1), map[string]string{"Idempotency-Key": "order-1"})
	if code != 409 || conflict["code"] != "conflict" {
		t.Fatalf("conflict: %d %v", code, conflict)
	}
	// Cancel while queued (sendAt in an hour), then it is not cancellable.
	code, c := r.do(t, "DELETE", "/v1/messages/order-1", userKey, "")
	if code != 200 || c["state"] != "cancelled" {
		t.Fatalf("cancel: %d %v", code, c)
	}
	if code, c = r.do(t, "DELETE", "/v1/messages/order-1", userKey, ""); code != 409 || c["code"] != "not_cancellable" {
		t.Fatalf("cancel again: %d %v", code, c)
	}
	if code, c = r.do(t, "DELETE", "/v1/messages/nope", userKey, ""); code != 404 {
		t.Fatalf("cancel unknown: %d %v", code, c)
	}
	if code, c = r.do(t, "GET", "/v1/messages/nope", userKey, ""); code != 404 || c["code"] != "not_found" {
		t.Fatalf("get unknown: %d %v", code, c)
	}
	if len(r.d.Sent()) != 0 {
		t.Fatalf("a cancelled message was sent: %+v", r.d.Sent())
	}
}

func TestMessagesValidation(t *testing.T) {
	r := newRig(t, false)
	before := len(r.d.Transcript())
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		body, field string
		code        int
	}{
		{`{"text":"x"}`, "to", 422},
		{`{"to":"Bank","text":"x"}`, "to", 422},
		{`{"to":"+436601234567"}`, "text", 422},
		{`{"to":"+436601234567","text":""}`, "text", 422},
		{`{"to":"+436601234567","text":"x","dataHex":"00"}`, "dataHex", 422},
		{`{"to":"+436601234567","dataHex":"0g"}`, "dataHex", 422},
		{`{"to":"+436601234567","text":"x","validity":"1s"}`, "validity", 422},
		{`{"to":"+436601234567","text":"x","sendAt":"tomorrow"}`, "sendAt", 422},
		{`{"to":"+436601234567","text":"x","validUntil":"2001-01-01T00:00:00Z"}`, "validUntil", 422},
		{`{"to":"+436601234567","text":"x","sendAt":"` + future + `","validUntil":"` + future + `"}`, "validUntil", 422},
		{`{"to":"+436601234567","text":"x","id":"has space"}`, "id", 422},
		{`{"to":"+436601234567","text":"` + strings.Repeat("x", 153*10+1) + `"}`, "text", 400},
		{`{"to":"+436601234567","text":"x","bogus":1}`, "bogus", 400},
	} {
		code, body := r.do(t, "POST", "/v1/messages", userKey, c.body)
		fields, _ := json.Marshal(body["fields"])
		if code != c.code || !strings.Contains(string(fields), `"field":"`+c.field+`"`) {
			t.Errorf("%s: %d %v, want %d naming %s", c.body, code, body, c.code, c.field)
		}
	}
	for _, q := range []string{"direction=sideways", "state=lost", "since=yesterday", "limit=0", "limit=501", "cursor=zzz"} {
		if code, body := r.do(t, "GET", "/v1/messages?"+q, userKey, ""); code != 400 {
			t.Errorf("GET ?%s: %d %v", q, code, body)
		}
	}
	if code, _ := r.do(t, "GET", "/v1/messages", "", ""); code != 401 {
		t.Errorf("no key: %d", code)
	}
	if n := len(r.d.Transcript()); n != before {
		t.Fatalf("bad input reached the modem: %v", r.d.Transcript()[before:])
	}
}

func TestMessagesListCursor(t *testing.T) {
	r := newRig(t, false)
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var ids []string
	for i := range 7 {
		_, body := r.do(t, "POST", "/v1/messages", userKey, fmt.Sprintf(`{"to":"+436601234567","text":"m%d","sendAt":"%s"}`, i, later))
		ids = append(ids, body["id"].(string))
	}
	var seen []string
	cursor := ""
	for {
		code, body := r.do(t, "GET", "/v1/messages?direction=out&state=queued&limit=3&cursor="+cursor, userKey, "")
		if code != 200 {
			t.Fatalf("%d %v", code, body)
		}
		for _, m := range body["messages"].([]any) {
			seen = append(seen, m.(map[string]any)["id"].(string))
		}
		next, _ := body["next"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 7 || seen[0] != ids[6] || seen[6] != ids[0] {
		t.Fatalf("seen %v, accepted %v", seen, ids)
	}
}

// /v1/sms waits for the outbox; a transient failure longer than the
// request's budget answers sms_in_progress, and the message is sent once
// the network is back.
func TestSMSThroughOutboxInProgress(t *testing.T) {
	r, _ := newSMSRig(t, modemops.Config{}, 300*time.Millisecond)
	n := r.d.Network()
	n.Reg = 0
	if err := r.d.SetNetwork(n); err != nil {
		t.Fatal(err)
	}
	code, body := r.do(t, "POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"later"}`)
	if code != 504 || body["code"] != "sms_in_progress" || !strings.HasPrefix(body["id"].(string), "sms_") || partStates(body) != "pending" {
		t.Fatalf("%d %v", code, body)
	}
	n.Reg = 1
	if err := r.d.SetNetwork(n); err != nil {
		t.Fatal(err)
	}
	r.waitState(t, body["id"].(string), "sent")
	if sent := r.d.Sent(); len(sent) != 1 || sent[0].Text != "later" {
		t.Fatalf("sent %+v", sent)
	}
}
