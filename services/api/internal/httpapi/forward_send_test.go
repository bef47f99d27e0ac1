package httpapi

import (
	"context"
	"testing"
)

// A synchronous send to the instance that does not drive the default
// modem is not forwarded: it goes into the shared store, the owner's
// outbox worker sends it, and the answer follows the store.
func TestSyncSendOnNonOwner(t *testing.T) {
	c := &cluster{}
	a := serve(t, c, "a", nil)
	b := serve(t, c, "b", func(d *Deps) { d.Store = a.deps.Store }) // one database
	c.set(Owner{Instance: "a", URL: a.url, Known: true})
	// What the fleet does: every commit of the database wakes the outbox
	// workers of the modems this instance drives.
	ctx, cancel := context.WithCancel(context.Background())
	kicked := make(chan struct{})
	go func() {
		defer close(kicked)
		for {
			ch := a.deps.Store.EventsChanged()
			a.deps.Outbox.Kick()
			select {
			case <-ctx.Done():
				return
			case <-ch:
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-kicked })

	bFrom := len(b.d.Transcript())
	code, body, _ := call(t, b.url, "POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"via b"}`, nil)
	if code != 200 || body["partCount"] != 1.0 {
		t.Fatalf("POST /v1/sms on b: %d %v", code, body)
	}
	if sent := a.d.Sent(); len(sent) != 1 || sent[0].Text != "via b" {
		t.Fatalf("a's modem sent %+v", sent)
	}
	if s := b.d.Sent(); len(s) != 0 || hasCommand(commands(b.rig, bFrom), "AT+CMSS") {
		t.Fatalf("b's modem sent %+v", s)
	}
	code, body, _ = call(t, b.url, "POST", "/sms", userKey, `{"recipient":"+436601234567","message":"original via b"}`, nil)
	if code != 200 || body["result"] != ResultSuccess {
		t.Fatalf("POST /sms on b: %d %v", code, body)
	}
	// The owner's SIM wants its PIN: refused before anything is stored, as
	// on the owner.
	if err := a.d.SetSIM("pin"); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, a.rig, func() bool { return a.pl.Snapshot().Status.SIM == "pin" })
	code, body, _ = call(t, b.url, "POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"x"}`, nil)
	if code != 409 || body["code"] != "sim_not_ready" || body["id"] != nil {
		t.Fatalf("POST /v1/sms on b, SIM locked on a: %d %v", code, body)
	}
	// No owner: 503 before anything is stored.
	c.set(Owner{})
	code, body, hdr := call(t, b.url, "POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"x"}`, nil)
	if code != 503 || body["code"] != "no_owner" || hdr.Get("Retry-After") != noOwnerRetryAfter {
		t.Fatalf("POST /v1/sms on b, no owner: %d %v %v", code, body, hdr)
	}
	if n := len(a.d.Sent()); n != 2 {
		t.Fatalf("a sent %d, want 2", n)
	}
}
