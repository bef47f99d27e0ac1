package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// Two Store handles on one database are two api instances sharing it: a
// PostgreSQL run only (SQLite has one api per file).
func openPair(t *testing.T) (*Store, *Store) {
	t.Helper()
	if pg == nil {
		t.Skip("PostgreSQL only: SQLite has one api instance per file")
	}
	loc := newLocation(t)
	return openAt(t, loc, nil), openAt(t, loc, nil)
}

// Every message is claimed by exactly one of the modems of two instances
// claiming at once (PostgreSQL: FOR UPDATE SKIP LOCKED under the one
// writer's lock).
func TestClusterClaimsEachMessageOnce(t *testing.T) {
	a, b := openPair(t)
	ctx := context.Background()
	const n = 120
	for i := range n {
		if _, _, err := a.AcceptOutbound(ctx, outReq(t, fmt.Sprintf("m%03d", i), "+436601234567", "hello")); err != nil {
			t.Fatal(err)
		}
	}
	type worker struct {
		s     *Store
		name  string
		modem int64
	}
	var workers []worker
	for i, s := range []*Store{a, b, a, b} {
		id := testModem
		id.IMEI = fmt.Sprintf("35000000000000%d", i)
		id.Name = fmt.Sprintf("w%d", i)
		m, err := s.UpsertModem(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		workers = append(workers, worker{s, id.Name, m})
	}
	var mu sync.Mutex
	claimedBy := map[string][]string{}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, _, err := w.s.ClaimNext(ctx, w.modem, w.name)
				if err != nil {
					t.Error(err)
					return
				}
				if m == nil {
					return
				}
				mu.Lock()
				claimedBy[m.ID] = append(claimedBy[m.ID], w.name)
				mu.Unlock()
				if _, err := w.s.PartSubmitting(ctx, m.ID, 1); err != nil {
					t.Error(err)
					return
				}
				if _, err := w.s.PartSent(ctx, m.ID, 1, 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(claimedBy) != n {
		t.Fatalf("%d of %d messages claimed", len(claimedBy), n)
	}
	per := map[string]int{}
	for id, by := range claimedBy {
		if len(by) != 1 {
			t.Fatalf("message %s claimed by %v", id, by)
		}
		per[by[0]]++
	}
	t.Logf("claims per modem: %v", per)
}

// A reader of the event log at a cursor never misses an event that two
// instances append concurrently: seq grows in commit order.
func TestClusterEventLogNeverSkips(t *testing.T) {
	a, b := openPair(t)
	ctx := context.Background()
	const perWriter, writers = 150, 4
	var wg sync.WaitGroup
	for w := range writers {
		s := []*Store{a, b}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				if _, err := s.AppendEvent(ctx, EventModemConnected, map[string]int{"w": w, "i": i}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var seen []int64
	var cursor int64
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		evs, err := b.Events(ctx, cursor, nil, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			seen = append(seen, e.Seq)
			cursor = e.Seq
		}
		if finished && len(evs) == 0 {
			break
		}
	}
	var want []int64
	for after := int64(0); ; {
		page, err := a.Events(ctx, after, nil, MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			want = append(want, e.Seq)
		}
		after = page[len(page)-1].Seq
	}
	if len(want) != perWriter*writers || !slices.Equal(seen, want) {
		t.Fatalf("the tailing reader saw %d events, the log holds %d (want %d); first difference at %d",
			len(seen), len(want), perWriter*writers, firstDiff(seen, want))
	}
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// A commit by one instance wakes the event readers of the other
// (PostgreSQL: LISTEN/NOTIFY).
func TestClusterCommitWakesTheOtherInstance(t *testing.T) {
	a, b := openPair(t)
	ctx := context.Background()
	// b's listener may not be listening yet: commit on a until b wakes.
	woken := func(limit time.Duration) bool {
		changed := b.EventsChanged()
		if _, err := a.AppendEvent(ctx, EventModemConnected, map[string]int{"x": 1}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-changed:
			return true
		case <-time.After(limit):
			return false
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for !woken(time.Second) {
		if time.Now().After(deadline) {
			t.Fatal("instance b was never woken by instance a's commits in 30 s")
		}
	}
	// Listening now: every commit wakes it.
	for i := range 5 {
		if !woken(30 * time.Second) {
			t.Fatalf("commit %d: instance b was not woken within 30 s", i)
		}
	}
}
