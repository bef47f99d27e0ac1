package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// eventsOf returns every event in the log after seq.
func eventsOf(t *testing.T, s *Store, after int64, types ...string) []Event {
	t.Helper()
	ev, err := s.Events(context.Background(), after, types, MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func typesOf(ev []Event) []string {
	var out []string
	for _, e := range ev {
		out = append(out, e.Type)
	}
	return out
}

// eventMessage decodes the message of a message or sms event.
func eventMessage(t *testing.T, e Event) EventMessage {
	t.Helper()
	var d struct{ Message EventMessage }
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d.Message
}

func TestMessageEventsWithEveryChange(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	ctx := context.Background()
	modem, err := s.UpsertModem(ctx, testModem)
	if err != nil {
		t.Fatal(err)
	}
	r := outReq(t, "two-parts", "+436601234567", longText(2))
	r.Options.StatusReport = true
	if _, _, err := s.AcceptOutbound(ctx, r); err != nil {
		t.Fatal(err)
	}
	// The same request again is no change: no event.
	if _, created, err := s.AcceptOutbound(ctx, r); err != nil || created {
		t.Fatal(created, err)
	}
	sendAll(t, s, modem, "two-parts", 41, 42)
	rep := &reporter{t: t, s: s, modem: modem}
	rep.report(41, "+436601234567", 0)
	rep.report(42, "+436601234567", 0)
	rep.report(99, "+436601234567", 0) // matches nothing

	if _, _, err := s.AcceptOutbound(ctx, outReq(t, "cancel-me", "+436601234567", "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Cancel(ctx, "cancel-me"); err != nil {
		t.Fatal(err)
	}
	exp := outReq(t, "expire-me", "+436601234567", "x")
	exp.Options.ValidUntil = c.Now().Add(time.Minute)
	if _, _, err := s.AcceptOutbound(ctx, exp); err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Minute)
	if m, _, err := s.ClaimNext(ctx, modem, ""); err != nil || m != nil {
		t.Fatalf("claim %+v %v", m, err)
	}
	if _, _, err := s.AcceptOutbound(ctx, outReq(t, "fail-me", "+436601234567", "x")); err != nil {
		t.Fatal(err)
	}
	if m, _, err := s.ClaimNext(ctx, modem, ""); err != nil || m == nil {
		t.Fatalf("claim %+v %v", m, err)
	}
	if _, err := s.PartFailed(ctx, "fail-me", 1, "+CMS ERROR: 38"); err != nil {
		t.Fatal(err)
	}

	ev := eventsOf(t, s, 0)
	want := []string{EventMessageQueued, EventMessageSent, EventMessageDelivered, EventReportUnmatched,
		EventMessageQueued, EventMessageCancelled, EventMessageQueued, EventMessageExpired, EventMessageQueued, EventMessageFailed}
	if got := typesOf(ev); !slices.Equal(got, want) {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
	for i := 1; i < len(ev); i++ {
		if ev[i].Seq <= ev[i-1].Seq || ev[i].ID == ev[i-1].ID || len(ev[i].ID) < 8 {
			t.Fatalf("order or ids: %+v then %+v", ev[i-1], ev[i])
		}
	}
	sent := eventMessage(t, ev[1])
	if sent.ID != "two-parts" || sent.State != StateSent || len(sent.Parts) != 2 || sent.Parts[0].MR == nil || *sent.Parts[0].MR != 41 ||
		*sent.Parts[1].MR != 42 || sent.Modem == nil || sent.Modem.IMEI != testModem.IMEI || sent.Direction != Out {
		t.Fatalf("sent event %s", ev[1].Data)
	}
	if d := eventMessage(t, ev[2]); d.State != StateDelivered || d.Parts[1].Status == nil || *d.Parts[1].Status != 0 {
		t.Fatalf("delivered event %s", ev[2].Data)
	}
	var un struct{ Report EventReport }
	if err := json.Unmarshal(ev[3].Data, &un); err != nil || un.Report.MR != 99 || un.Report.Outcome != OutcomeDelivered {
		t.Fatalf("unmatched %s %v", ev[3].Data, err)
	}
	if f := eventMessage(t, ev[9]); f.State != StateFailed || f.Reason == "" || f.Parts[0].Error != "+CMS ERROR: 38" {
		t.Fatalf("failed event %s", ev[9].Data)
	}
	// Filters: exact types and families.
	if got := typesOf(eventsOf(t, s, 0, EventMessageQueued)); len(got) != 4 {
		t.Fatalf("queued only: %v", got)
	}
	if got := typesOf(eventsOf(t, s, ev[3].Seq, "report.*", EventMessageFailed)); !slices.Equal(got, []string{EventMessageFailed}) {
		t.Fatalf("report.* and failed after the report: %v", got)
	}
	// The body is a function of the row: read again, byte for byte equal.
	again := eventsOf(t, s, 0)
	for i := range ev {
		if string(ev[i].Body()) != string(again[i].Body()) {
			t.Fatalf("body changed:\n%s\n%s", ev[i].Body(), again[i].Body())
		}
	}
	var body map[string]any
	if err := json.Unmarshal(ev[0].Body(), &body); err != nil || body["id"] != ev[0].ID || body["type"] != EventMessageQueued ||
		body["seq"] != float64(ev[0].Seq) || body["time"] == "" || body["data"] == nil {
		t.Fatalf("body %s %v", ev[0].Body(), err)
	}
	if last, err := s.LastEventSeq(ctx); err != nil || last != ev[len(ev)-1].Seq {
		t.Fatalf("last %d %v", last, err)
	}
}

func TestSMSReceivedOncePerWholeMessage(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	in := newInbox(t, s)
	from := "+436641234567"
	parts := deliverParts(t, from, longText(3), 0x1234, true)
	in.save(parts[2])
	in.save(parts[0])
	if got := eventsOf(t, s, 0); len(got) != 0 {
		t.Fatalf("events before the message is whole: %v", typesOf(got))
	}
	in.saveAt(2, parts[0]) // read again after a crash before AT+CMGD: no change
	in.save(parts[1])
	ev := eventsOf(t, s, 0)
	if got := typesOf(ev); !slices.Equal(got, []string{EventSMSReceived}) {
		t.Fatalf("events %v", got)
	}
	m := eventMessage(t, ev[0])
	if m.Text != longText(3) || m.PartCount != 3 || m.Incomplete || m.Peer != from || m.Direction != In || m.SCTime == "" {
		t.Fatalf("received %s", ev[0].Data)
	}
	// One part of two, then the timeout: one incomplete message.
	lone := deliverParts(t, from, longText(2), 7, false)
	in.save(lone[1])
	c.Add(DefaultIncompleteAfter + time.Minute)
	if _, err := s.ExpireIncomplete(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev = eventsOf(t, s, ev[0].Seq)
	if len(ev) != 1 {
		t.Fatalf("events %v", typesOf(ev))
	}
	if m := eventMessage(t, ev[0]); !m.Incomplete || !slices.Equal(m.Missing, []int{1}) || m.State != StateIncomplete {
		t.Fatalf("incomplete %s", ev[0].Data)
	}
}

func TestFailedTransactionLeavesNoEvent(t *testing.T) {
	s := openTest(t, newClock())
	ctx := context.Background()
	if _, _, err := s.AcceptOutbound(ctx, outReq(t, "a", "+436601234567", "x")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	// A change whose transaction fails after its event was inserted.
	err := s.write(ctx, "test", func(tx *sql.Tx) error {
		if err := setMessageState(ctx, tx, 1, StateQueued, StateCancelled, "", s.nowMs()); err != nil {
			return err
		}
		if n := countIn(t, tx, `SELECT count(*) FROM events`); n != 2 {
			t.Errorf("inside the transaction: %d events", n)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if got := typesOf(eventsOf(t, s, 0)); !slices.Equal(got, []string{EventMessageQueued}) {
		t.Fatalf("after the rollback: %v", got)
	}
	if m, err := s.Get(ctx, "a"); err != nil || m.State != StateQueued {
		t.Fatalf("%+v %v", m, err)
	}
	// A refused change (conflicting key) appends nothing either.
	if _, _, err := s.AcceptOutbound(ctx, outReq(t, "a", "+436601234567", "other")); !errors.Is(err, ErrConflict) {
		t.Fatal(err)
	}
	if n := len(eventsOf(t, s, 0)); n != 1 {
		t.Fatalf("%d events", n)
	}
}

func countIn(t *testing.T, q querier, query string) int {
	t.Helper()
	var n int
	if err := q.QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAppendEventAndWakeUp(t *testing.T) {
	s := openTest(t, newClock())
	ctx := context.Background()
	changed := s.EventsChanged()
	select {
	case <-changed:
		t.Fatal("woken before any commit")
	default:
	}
	e, err := s.AppendEvent(ctx, EventModemConnected, map[string]any{"modem": map[string]string{"imei": "1"}})
	if err != nil || e.Seq != 1 || e.Type != EventModemConnected {
		t.Fatalf("%+v %v", e, err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("not woken by the commit")
	}
	if _, err := s.AppendEvent(ctx, "modem.*", nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a pattern as a type: %v", err)
	}
	if _, err := s.AppendEvent(ctx, "nonsense", nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("an unknown type: %v", err)
	}
}

func TestEventRetentionKeepsWhatWebhooksNeed(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	ctx := context.Background()
	for range 3 {
		if _, err := s.AppendEvent(ctx, EventModemConnected, nil); err != nil {
			t.Fatal(err)
		}
	}
	wh, err := s.CreateWebhook(ctx, WebhookRequest{URL: "http://127.0.0.1:1/hook"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the webhook has not received these
		if _, err := s.AppendEvent(ctx, EventModemDisconnect, nil); err != nil {
			t.Fatal(err)
		}
	}
	c.Add(100 * 24 * time.Hour)
	if _, err := s.AppendEvent(ctx, EventModemConnected, nil); err != nil { // recent
		t.Fatal(err)
	}
	res, err := s.Retention(ctx, DefaultRetention)
	if err != nil || res.Events != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	if got := eventsOf(t, s, 0); len(got) != 3 || got[0].Seq != 4 {
		t.Fatalf("kept %v", got)
	}
	// Once the webhook is past them, they go; the sequence is never reused.
	if err := s.WebhookDelivered(ctx, wh.ID, 4); err != nil {
		t.Fatal(err)
	}
	if err := s.WebhookDelivered(ctx, wh.ID, 6); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Retention(ctx, DefaultRetention); err != nil || res.Events != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if e, err := s.AppendEvent(ctx, EventModemConnected, nil); err != nil || e.Seq != 7 {
		t.Fatalf("%+v %v", e, err)
	}
}

// Any pattern ValidEventPattern accepts selects exactly the types it
// names (the SQL LIKE of a family escapes nothing it should not match);
// anything else is refused before it reaches SQL.
func FuzzEventPatterns(f *testing.F) {
	for _, p := range []string{"*", "message.*", "sms.received", "modem.*", "m%.*", "message._ueued", "", "report.*"} {
		f.Add(p)
	}
	s := openTest(f, newClock())
	ctx := context.Background()
	for _, typ := range EventTypes {
		if _, err := s.AppendEvent(ctx, typ, nil); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !ValidEventPattern(p) {
			return
		}
		ev, err := s.Events(ctx, 0, []string{p}, MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, typ := range EventTypes {
			if p == "*" || typ == p || (strings.HasSuffix(p, ".*") && strings.HasPrefix(typ, strings.TrimSuffix(p, "*"))) {
				want = append(want, typ)
			}
		}
		if got := typesOf(ev); !slices.Equal(got, want) {
			t.Fatalf("%q selects %v, want %v", p, got, want)
		}
	})
}
