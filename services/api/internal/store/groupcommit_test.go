package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// Concurrent writes share transactions, and each keeps its own outcome:
// a failing write leaves nothing behind and does not take the others
// with it; a write whose context has ended is not applied; every other
// write is committed when its call returns.
func TestGroupCommitKeepsEachOutcome(t *testing.T) {
	s := openTest(t, nil)
	const n = 200
	errBoom := errors.New("boom")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i%10 == 7 {
				ctx = cancelled
			}
			results[i] = s.write(ctx, "test", func(tx *sql.Tx) error {
				if _, err := appendEvent(ctx, tx, EventModemConnected, map[string]int{"i": i}, s.nowMs()); err != nil {
					return err
				}
				if i%10 == 3 {
					return fmt.Errorf("write %d: %w", i, errBoom) // after its insert: rolled back to its savepoint
				}
				return nil
			})
		}()
	}
	wg.Wait()
	events, err := s.Events(context.Background(), 0, nil, 1000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, e := range events {
		stored[string(e.Data)] = true
	}
	for i, err := range results {
		key := fmt.Sprintf(`{"i":%d}`, i)
		switch i % 10 {
		case 3:
			if !errors.Is(err, errBoom) || stored[key] {
				t.Errorf("failing write %d: err %v, stored %v", i, err, stored[key])
			}
		case 7:
			if !errors.Is(err, context.Canceled) || stored[key] {
				t.Errorf("cancelled write %d: err %v, stored %v", i, err, stored[key])
			}
		default:
			if err != nil || !stored[key] {
				t.Errorf("write %d: err %v, stored %v", i, err, stored[key])
			}
		}
	}
	if want := n - 2*n/10; len(events) != want {
		t.Errorf("%d events stored, want %d", len(events), want)
	}
}

// BenchmarkConcurrentWrites: fsynced writes per second from 1 and 8
// concurrent writers (the group commit shares one fsync among the
// writers that queue while one commits).
func BenchmarkConcurrentWrites(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, err := openLocation(context.Background(), newLocation(b), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.SetParallelism(writers)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.AppendEvent(context.Background(), EventModemConnected, map[string]int{"x": 1}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
