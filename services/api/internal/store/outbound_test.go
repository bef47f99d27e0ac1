package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// encodeParts encodes text as AT+CMGS takes it (empty SMSC, SMS-SUBMIT).
func encodeParts(t testing.TB, to, text string) []string {
	t.Helper()
	dest, err := pdu.ParseAddress(to)
	if err != nil {
		t.Fatal(err)
	}
	alpha, uds, err := pdu.SplitText(text, 0x42, false)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ud := range uds {
		b, err := (&pdu.Submit{Destination: dest, DCS: pdu.NewDCS(alpha, -1), UD: ud}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, "00"+hex.EncodeToString(b))
	}
	return out
}

func outReq(t testing.TB, id, to, text string) OutboundRequest {
	return OutboundRequest{ID: id, To: to, Text: text, Parts: encodeParts(t, to, text)}
}

// longText needs n GSM 7-bit parts.
func longText(n int) string {
	b := make([]byte, 153*(n-1)+10)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return string(b)
}

func TestAcceptIdempotent(t *testing.T) {
	s := openTest(t, newClock())
	ctx := context.Background()
	r := outReq(t, "order-17", "+436601234567", "hello")
	r.Options = SendOptions{StatusReport: true, Validity: time.Hour}
	m1, created, err := s.AcceptOutbound(ctx, r)
	if err != nil || !created {
		t.Fatalf("first accept: created %v, %v", created, err)
	}
	if m1.ID != "order-17" || !m1.ClientKey || m1.State != StateQueued || len(m1.Parts) != 1 || m1.Parts[0].State != PartQueued ||
		m1.Peer != "+436601234567" || !m1.Options.StatusReport || m1.Options.Validity != time.Hour {
		t.Fatalf("stored %+v", m1)
	}
	m2, created, err := s.AcceptOutbound(ctx, r)
	if err != nil || created || m2.ID != m1.ID || !m2.CreatedAt.Equal(m1.CreatedAt) {
		t.Fatalf("same key, same body: created %v, %+v, %v", created, m2, err)
	}
	r2 := r
	r2.Text = "hello!"
	r2.Parts = encodeParts(t, r2.To, r2.Text)
	if _, _, err := s.AcceptOutbound(ctx, r2); !errors.Is(err, ErrConflict) {
		t.Fatalf("same key, other text: %v", err)
	}
	r3 := r
	r3.Options.Flash = true
	if _, _, err := s.AcceptOutbound(ctx, r3); !errors.Is(err, ErrConflict) {
		t.Fatalf("same key, other options: %v", err)
	}
	page, err := s.List(ctx, Filter{})
	if err != nil || len(page.Messages) != 1 {
		t.Fatalf("stored messages: %d, %v", len(page.Messages), err)
	}
	// Without a key every accept is a new message with a generated id.
	r.ID = ""
	a, _, err := s.AcceptOutbound(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := s.AcceptOutbound(ctx, r)
	if err != nil || a.ID == b.ID || a.ClientKey || len(a.ID) != 16 {
		t.Fatalf("generated ids %q %q, %v", a.ID, b.ID, err)
	}
}

func TestAcceptValidates(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	good := outReq(t, "", "+436601234567", "hi")
	for name, mut := range map[string]func(*OutboundRequest){
		"no to":          func(r *OutboundRequest) { r.To = "" },
		"text and data":  func(r *OutboundRequest) { r.DataHex = "00" },
		"neither":        func(r *OutboundRequest) { r.Text = "" },
		"odd data":       func(r *OutboundRequest) { r.Text, r.DataHex = "", "abc" },
		"no parts":       func(r *OutboundRequest) { r.Parts = nil },
		"bad part":       func(r *OutboundRequest) { r.Parts = []string{"zz"} },
		"key with space": func(r *OutboundRequest) { r.ID = "a b" },
		"until<=sendAt": func(r *OutboundRequest) {
			r.Options.SendAt = time.Now()
			r.Options.ValidUntil = r.Options.SendAt
		},
	} {
		r := good
		mut(&r)
		if _, _, err := s.AcceptOutbound(ctx, r); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func mustState(t *testing.T, got State, err error, want State) {
	t.Helper()
	if err != nil || got != want {
		t.Fatalf("message state %s, %v; want %s", got, err, want)
	}
}

func TestPartTransitionsRollUpAndHistory(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	ctx := context.Background()
	modem, _ := s.UpsertModem(ctx, testModem)
	r := outReq(t, "multi", "+436601234567", longText(3))
	m, _, err := s.AcceptOutbound(ctx, r)
	if err != nil || m.PartCount != 3 {
		t.Fatalf("%+v %v", m, err)
	}
	claimed, _, err := s.ClaimNext(ctx, modem, "")
	if err != nil || claimed == nil || claimed.ID != "multi" || claimed.State != StateSending || claimed.ModemID != modem {
		t.Fatalf("claim: %+v, %v", claimed, err)
	}
	// Part 1 by the exactly-once route: written, submitting, sent, removed.
	c.Add(time.Second)
	st, err := s.PartWritten(ctx, "multi", 1, 7)
	mustState(t, st, err, StateSending)
	if _, err := s.PartSent(ctx, "multi", 1, 5); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("sent before submitting: %v", err)
	}
	st, err = s.PartSubmitting(ctx, "multi", 1)
	mustState(t, st, err, StateSending)
	st, err = s.PartSent(ctx, "multi", 1, 5)
	mustState(t, st, err, StateSending)
	st, err = s.PartRemoved(ctx, "multi", 1)
	mustState(t, st, err, StateSending)
	// Part 2: a transient error goes back to queued and is retried.
	st, err = s.PartSubmitting(ctx, "multi", 2)
	mustState(t, st, err, StateSending)
	st, err = s.PartRetry(ctx, "multi", 2, "+CMS ERROR: 332 network timeout")
	mustState(t, st, err, StateSending)
	s.PartSubmitting(ctx, "multi", 2)
	st, err = s.PartSent(ctx, "multi", 2, 6)
	mustState(t, st, err, StateSending)
	s.PartSubmitting(ctx, "multi", 3)
	st, err = s.PartSent(ctx, "multi", 3, NoMR)
	mustState(t, st, err, StateSent)
	if _, err := s.PartSubmitting(ctx, "multi", 3); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("a sent part submitted again: %v", err)
	}
	got, err := s.Get(ctx, "multi")
	if err != nil {
		t.Fatal(err)
	}
	p := got.Parts
	if p[0].MR != 5 || p[0].StorageIndex != -1 || p[1].MR != 6 || p[1].Attempts != 2 || p[2].MR != NoMR || p[2].SentAt.IsZero() ||
		got.FinishedAt.IsZero() {
		t.Fatalf("parts %+v finished %v", p, got.FinishedAt)
	}
	h, err := s.History(ctx, "multi")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, tr := range h {
		seen = append(seen, fmt.Sprintf("%d:%s", tr.Seq, tr.State))
		if tr.At.IsZero() {
			t.Fatalf("transition without time: %+v", tr)
		}
	}
	want := "[0:queued 0:sending 1:written 1:submitting 1:sent 1:sent 2:submitting 2:queued 2:submitting 2:sent 3:submitting 3:sent 0:sent]"
	if fmt.Sprint(seen) != want {
		t.Fatalf("history %v\nwant    %s", seen, want)
	}
	if h[1].At.Equal(h[2].At) {
		t.Fatal("transition times do not follow the clock")
	}
}

func TestRollUpStates(t *testing.T) {
	for _, c := range []struct {
		parts   []PartState
		current State
		want    State
	}{
		{[]PartState{PartQueued, PartQueued}, StateQueued, StateQueued},
		{[]PartState{PartSent, PartQueued}, StateSending, StateSending},
		{[]PartState{PartSent, PartSent}, StateSending, StateSent},
		{[]PartState{PartDelivered, PartSent}, StateSent, StateSent},
		{[]PartState{PartDelivered, PartDelivered}, StateSent, StateDelivered},
		{[]PartState{PartDelivered, PartFailed}, StateSent, StateFailed},
		{[]PartState{PartSent, PartUnknown, PartQueued}, StateSending, StateFailed},
	} {
		if got := rollUpStates(c.parts, c.current); got != c.want {
			t.Errorf("%v from %s: %s, want %s", c.parts, c.current, got, c.want)
		}
	}
}

func TestFailedPartFailsMessage(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	modem, _ := s.UpsertModem(ctx, testModem)
	s.AcceptOutbound(ctx, outReq(t, "f", "+436601234567", longText(2)))
	s.ClaimNext(ctx, modem, "")
	s.PartSubmitting(ctx, "f", 1)
	st, err := s.PartFailed(ctx, "f", 1, "+CMS ERROR: 21 short message transfer rejected")
	mustState(t, st, err, StateFailed)
	m, _ := s.Get(ctx, "f")
	if m.Reason != "part 1: +CMS ERROR: 21 short message transfer rejected" {
		t.Fatalf("reason %q", m.Reason)
	}
	if _, err := s.PartSubmitting(ctx, "f", 2); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("a part of a failed message submitted: %v", err)
	}
	// The claim does not hand a failed message out again.
	if next, _, err := s.ClaimNext(ctx, modem, ""); next != nil || err != nil {
		t.Fatalf("claimed %+v, %v", next, err)
	}
	// An in-flight part at a crash (the AT+CMGS route) is unknown, never resent.
	s.AcceptOutbound(ctx, outReq(t, "u", "+436601234567", "x"))
	s.ClaimNext(ctx, modem, "")
	s.PartSubmitting(ctx, "u", 1)
	st, err = s.PartUnknown(ctx, "u", 1, "AT+CMGS in flight at a restart")
	mustState(t, st, err, StateFailed)
}

func TestClaimOrderSendAtModemAndResume(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	ctx := context.Background()
	m1, _ := s.UpsertModem(ctx, testModem)
	other := testModem
	other.IMEI = "350000000000001"
	m2, _ := s.UpsertModem(ctx, other)
	later := outReq(t, "later", "+436601234567", "later")
	later.Options.SendAt = c.Now().Add(time.Hour)
	for _, r := range []OutboundRequest{later, outReq(t, "a", "+436601234567", "a"), outReq(t, "b", "+436601234567", "b")} {
		if _, _, err := s.AcceptOutbound(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	pinned := outReq(t, "pinned", "+436601234567", "p")
	pinned.Modem, pinned.Route = "b2", []string{"b2"}
	s.AcceptOutbound(ctx, pinned)

	got, _, err := s.ClaimNext(ctx, m1, "a1")
	if err != nil || got.ID != "a" {
		t.Fatalf("first claim %+v, %v", got, err)
	}
	// Until "a" is finished, the modem resumes "a" (e.g. after a restart).
	again, _, err := s.ClaimNext(ctx, m1, "a1")
	if err != nil || again.ID != "a" {
		t.Fatalf("resume %+v, %v", again, err)
	}
	s.PartSubmitting(ctx, "a", 1)
	s.PartSent(ctx, "a", 1, 1)
	got, _, _ = s.ClaimNext(ctx, m1, "a1")
	if got == nil || got.ID != "b" {
		t.Fatalf("second claim %+v", got)
	}
	s.PartSubmitting(ctx, "b", 1)
	s.PartSent(ctx, "b", 1, 2)
	got, next, err := s.ClaimNext(ctx, m1, "a1")
	if err != nil || got != nil || !next.Equal(c.Now().Add(time.Hour)) {
		t.Fatalf("nothing due: %+v next %v, %v", got, next, err)
	}
	c.Add(time.Hour)
	got, _, _ = s.ClaimNext(ctx, m1, "a1")
	if got == nil || got.ID != "later" {
		t.Fatalf("sendAt reached: %+v", got)
	}
	got, _, _ = s.ClaimNext(ctx, m2, "b2")
	if got == nil || got.ID != "pinned" {
		t.Fatalf("pinned: %+v", got)
	}
}

func TestCancelOnlyWhileQueued(t *testing.T) {
	s := openTest(t, nil)
	ctx := context.Background()
	modem, _ := s.UpsertModem(ctx, testModem)
	s.AcceptOutbound(ctx, outReq(t, "c1", "+436601234567", "one"))
	s.AcceptOutbound(ctx, outReq(t, "c2", "+436601234567", "two"))
	if _, err := s.Cancel(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	s.ClaimNext(ctx, modem, "") // c1 is sending now
	if _, err := s.Cancel(ctx, "c1"); !errors.Is(err, ErrNotCancellable) {
		t.Fatalf("sending: %v", err)
	}
	m, err := s.Cancel(ctx, "c2")
	if err != nil || m.State != StateCancelled || m.FinishedAt.IsZero() {
		t.Fatalf("queued: %+v, %v", m, err)
	}
	if _, err := s.Cancel(ctx, "c2"); !errors.Is(err, ErrNotCancellable) {
		t.Fatalf("cancelled twice: %v", err)
	}
	s.PartSubmitting(ctx, "c1", 1)
	s.PartSent(ctx, "c1", 1, 9)
	if got, _, _ := s.ClaimNext(ctx, modem, ""); got != nil {
		t.Fatalf("a cancelled message was claimed: %+v", got)
	}
}

func TestExpiry(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	ctx := context.Background()
	modem, _ := s.UpsertModem(ctx, testModem)
	r := outReq(t, "exp", "+436601234567", "soon stale")
	r.Options.ValidUntil = c.Now().Add(time.Minute)
	s.AcceptOutbound(ctx, r)
	c.Add(2 * time.Minute)
	got, next, err := s.ClaimNext(ctx, modem, "")
	if err != nil || got != nil || !next.IsZero() {
		t.Fatalf("claimed %+v next %v, %v", got, next, err)
	}
	m, _ := s.Get(ctx, "exp")
	if m.State != StateExpired || m.Reason == "" {
		t.Fatalf("%+v", m)
	}
	if _, err := s.Cancel(ctx, "exp"); !errors.Is(err, ErrNotCancellable) {
		t.Fatalf("cancel expired: %v", err)
	}
}

func TestListFiltersAndStablePaging(t *testing.T) {
	s := openTest(t, newClock())
	ctx := context.Background()
	for i := range 25 {
		to := "+436601234567"
		if i%5 == 0 {
			to = "+436609999999"
		}
		if _, _, err := s.AcceptOutbound(ctx, outReq(t, fmt.Sprintf("k%02d", i), to, "x")); err != nil {
			t.Fatal(err)
		}
	}
	for _, oldest := range []bool{false, true} {
		seen := map[string]bool{}
		var order []string
		f := Filter{Direction: Out, Limit: 4, Oldest: oldest}
		var wg sync.WaitGroup
		for pages := 0; ; pages++ {
			page, err := s.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Messages {
				if seen[m.ID] {
					t.Fatalf("oldest=%v: %s listed twice", oldest, m.ID)
				}
				seen[m.ID] = true
				order = append(order, m.ID)
			}
			// Insert while paging, concurrently with the next page's read.
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := s.AcceptOutbound(ctx, outReq(t, "", "+436601234567", "new")); err != nil {
					t.Error(err)
				}
			}()
			wg.Wait()
			if page.Next == "" {
				break
			}
			f.Cursor = page.Next
		}
		for i := range 25 {
			if !seen[fmt.Sprintf("k%02d", i)] {
				t.Fatalf("oldest=%v: k%02d skipped (%v)", oldest, i, order)
			}
		}
		if !oldest && order[0] != "k24" {
			t.Fatalf("newest first starts with %s", order[0])
		}
		if oldest && order[0] != "k00" {
			t.Fatalf("oldest first starts with %s", order[0])
		}
	}
	page, err := s.List(ctx, Filter{To: "+436609999999"})
	if err != nil || len(page.Messages) != 5 {
		t.Fatalf("to filter: %d, %v", len(page.Messages), err)
	}
	page, err = s.List(ctx, Filter{States: []State{StateCancelled, StateSent}})
	if err != nil || len(page.Messages) != 0 {
		t.Fatalf("state filter: %d, %v", len(page.Messages), err)
	}
	first, _ := s.List(ctx, Filter{Limit: 2})
	if _, err := s.List(ctx, Filter{Limit: 2, Direction: In, Cursor: first.Next}); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("cursor of another filter: %v", err)
	}
	if _, err := s.List(ctx, Filter{Cursor: "!!"}); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("garbage cursor: %v", err)
	}
}

func FuzzDecodeCursor(f *testing.F) {
	fp := (&Filter{}).fingerprint()
	f.Add(encodeCursor(fp, 1))
	f.Add(encodeCursor(fp, 1<<40))
	f.Add(encodeCursor(fp+1, 7))
	f.Add("")
	f.Add("AQAAAAAB")
	f.Fuzz(func(t *testing.T, s string) {
		row, err := decodeCursor(s, fp)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("error %v does not wrap ErrBadCursor", err)
			}
			return
		}
		if row <= 0 {
			t.Fatalf("accepted row %d", row)
		}
		if again := encodeCursor(fp, row); again != s {
			t.Fatalf("%q decodes to %d, which encodes to %q", s, row, again)
		}
	})
}

func TestStatsOutbox(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	ctx := context.Background()
	modem, _ := s.UpsertModem(ctx, testModem)
	s.AcceptOutbound(ctx, outReq(t, "first", "+436601234567", "a"))
	c.Add(time.Minute)
	s.AcceptOutbound(ctx, outReq(t, "second", "+436601234567", "b"))
	future := outReq(t, "future", "+436601234567", "c")
	future.Options.SendAt = c.Now().Add(time.Hour)
	s.AcceptOutbound(ctx, future)
	c.Add(9 * time.Minute)
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The oldest due message waited 10 minutes; one not yet due is not late.
	if st.OutboxDepth != 3 || st.OldestQueuedAge != 10*time.Minute || st.Messages[Out][StateQueued] != 3 {
		t.Fatalf("%+v", st)
	}
	s.ClaimNext(ctx, modem, "")
	st, _ = s.Stats(ctx)
	if st.OutboxDepth != 3 || st.OldestQueuedAge != 9*time.Minute || st.Messages[Out][StateSending] != 1 {
		t.Fatalf("after a claim %+v", st)
	}
}
