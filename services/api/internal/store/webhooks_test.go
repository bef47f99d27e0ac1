package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWebhookDeliveryState(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	ctx := context.Background()
	if _, err := s.AppendEvent(ctx, EventModemConnected, nil); err != nil { // before the webhook: never sent to it
		t.Fatal(err)
	}
	wh, err := s.CreateWebhook(ctx, WebhookRequest{URL: "https://example.net/hook", Types: []string{"modem.*"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(wh.Secret, "whsec_") || len(wh.Secret) != 70 || wh.Cursor != 1 || wh.State != WebhookActive || wh.Source != WebhookFromAPI {
		t.Fatalf("%+v", wh)
	}
	if _, ev, err := s.WebhookNext(ctx, wh.ID); err != nil || ev != nil {
		t.Fatalf("next before any event: %+v %v", ev, err)
	}
	if _, err := s.AppendEvent(ctx, EventModemDisconnect, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AcceptOutbound(ctx, outReq(t, "x", "+436601234567", "x")); err != nil { // not its type
		t.Fatal(err)
	}
	if _, err := s.AppendEvent(ctx, EventModemConnected, nil); err != nil {
		t.Fatal(err)
	}
	w, ev, err := s.WebhookNext(ctx, wh.ID)
	if err != nil || ev == nil || ev.Seq != 2 || w.Attempt != nil || w.Backlog != 0 {
		t.Fatalf("next %+v %+v %v", w, ev, err)
	}
	if g, _ := s.GetWebhook(ctx, wh.ID); g.Backlog != 2 {
		t.Fatalf("backlog %d", g.Backlog)
	}
	for want := 1; want <= 2; want++ {
		n, err := s.WebhookAttemptBegin(ctx, wh.ID, 2, c.Now().Add(time.Minute))
		if err != nil || n != want {
			t.Fatalf("attempt %d: %d %v", want, n, err)
		}
		if err := s.WebhookFailed(ctx, wh.ID, 2, "HTTP 500", c.Now().Add(time.Duration(want)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	w, ev, _ = s.WebhookNext(ctx, wh.ID)
	if w.Attempt == nil || w.Attempt.Attempts != 2 || w.Attempt.LastError != "HTTP 500" || !w.Attempt.NextAt.Equal(c.Now().Add(2*time.Second)) ||
		w.LastError != "HTTP 500" || ev.Seq != 2 {
		t.Fatalf("after two failures %+v %+v", w, w.Attempt)
	}
	// Delivered, and the next attempt begun, in one commit.
	if n, err := s.WebhookDeliveredNext(ctx, wh.ID, 2, 4, c.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatal(n, err)
	}
	if w, ev, _ := s.WebhookNext(ctx, wh.ID); w.Cursor != 2 || w.Attempt == nil || w.Attempt.EventSeq != 4 || w.Attempt.Attempts != 1 ||
		w.Attempt.LastError != "" || ev.Seq != 4 || w.Status() != WebhookActive {
		t.Fatalf("after delivered-next %+v %+v", w, w.Attempt)
	}
	if err := s.WebhookDelivered(ctx, wh.ID, 2); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("delivered twice: %v", err)
	}
	// Progress is committed without fsync, and the writer is back to
	// synchronous=FULL (2) for everything else.
	if !s.Postgres() { // there, synchronous_commit = off is SET LOCAL: the transaction's alone
		var sync int
		if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
			t.Fatalf("synchronous %d after a webhook's progress, %v", sync, err)
		}
	}
	w, ev, _ = s.WebhookNext(ctx, wh.ID)
	if w.Cursor != 2 || w.Delivered != 1 || ev.Seq != 4 || w.LastSuccess.IsZero() {
		t.Fatalf("after delivery %+v %+v", w, ev)
	}
	if err := s.WebhookDead(ctx, wh.ID, 4, "too old"); err != nil {
		t.Fatal(err)
	}
	w, ev, _ = s.WebhookNext(ctx, wh.ID)
	if w.Cursor != 4 || w.Dead != 1 || ev != nil || !strings.Contains(w.LastError, "too old") {
		t.Fatalf("after death %+v %+v", w, ev)
	}
	if d, err := s.WebhookDeadEvents(ctx, wh.ID, 10); err != nil || len(d) != 1 || d[0].EventSeq != 4 || d[0].Attempts != 1 {
		t.Fatalf("dead %+v %v", d, err)
	}
	if err := s.WebhookDisable(ctx, wh.ID, "410 Gone"); err != nil {
		t.Fatal(err)
	}
	if l, err := s.Webhooks(ctx); err != nil || len(l) != 1 || l[0].State != WebhookDisabled || l[0].DisabledReason != "410 Gone" {
		t.Fatalf("%+v %v", l, err)
	}
	if err := s.DeleteWebhook(ctx, wh.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.WebhookNext(ctx, wh.ID); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, wh.ID); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestWebhookValidationAndEnv(t *testing.T) {
	s := openTest(t, newClock())
	ctx := context.Background()
	for _, r := range []WebhookRequest{
		{URL: ""}, {URL: "ftp://x/y"}, {URL: "/relative"}, {URL: "http://u:p@host/"}, {URL: "http://h/", Secret: "short"},
		{URL: "http://h/", Types: []string{"message.nope"}}, {URL: "http://h/", Types: []string{"bogus.*"}},
	} {
		if _, err := s.CreateWebhook(ctx, r); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", r, err)
		}
	}
	env := WebhookRequest{URL: "http://127.0.0.1:9/a", Secret: "0123456789abcdef", Types: []string{"sms.received"}}
	a, err := s.EnsureEnvWebhook(ctx, env)
	if err != nil || a.Source != WebhookFromEnv {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := s.AppendEvent(ctx, EventModemConnected, nil); err != nil {
		t.Fatal(err)
	}
	env.URL = "http://127.0.0.1:9/b"
	b, err := s.EnsureEnvWebhook(ctx, env)
	if err != nil || b.ID != a.ID || b.URL != env.URL || b.Cursor != a.Cursor {
		t.Fatalf("changed env: %+v %v", b, err)
	}
	if _, err := s.EnsureEnvWebhook(ctx, WebhookRequest{URL: "http://h/"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("without a secret: %v", err)
	}
	if w, err := s.EnsureEnvWebhook(ctx, WebhookRequest{}); err != nil || w != nil {
		t.Fatal(w, err)
	}
	if l, _ := s.Webhooks(ctx); len(l) != 0 {
		t.Fatalf("%+v", l)
	}
}
