package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// reportLatency reports the accepted messages per second and the p50/p99
// latency of one call.
func reportLatency(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkAcceptOutbound measures AcceptOutbound alone (committed,
// fsynced) on a real file: sequentially and from 8 concurrent writers.
func BenchmarkAcceptOutbound(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := openTest(b, nil)
			ctx := context.Background()
			req := outReq(b, "", "+436601234567", "benchmark message text")
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						r := req
						r.ID = fmt.Sprintf("bench-%d", i)
						t0 := time.Now()
						if _, _, err := s.AcceptOutbound(ctx, r); err != nil {
							b.Error(err)
							return
						}
						lat[i] = time.Since(t0)
					}
				}()
			}
			wg.Wait()
			reportLatency(b, lat, time.Since(start))
		})
	}
}

// fill inserts n messages straight into the tables, half outbound (one
// part each, mixed states) and half inbound (some read), in transactions
// of 5000 rows.
func fill(b *testing.B, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	modem, err := s.UpsertModem(ctx, testModem)
	if err != nil {
		b.Fatal(err)
	}
	part := encodeParts(b, "+436601234567", "a message of some fifty characters, typical enough")[0]
	states := []State{StateSent, StateDelivered, StateQueued, StateFailed}
	now := s.nowMs()
	for done := 0; done < n; {
		err := s.write(ctx, "fill", func(tx *sql.Tx) error {
			for i := 0; i < 5000 && done < n; i, done = i+1, done+1 {
				dir, state, peer := Out, states[done%len(states)], fmt.Sprintf("+4366012%05d", done%1000)
				if done%2 == 1 {
					dir, state = In, StateReceived
				}
				var row int64
				err := tx.QueryRowContext(ctx, `INSERT INTO messages (uid, direction, modem_id, peer, text, state, part_count, created_at, updated_at, read)
					VALUES (?, ?, ?, ?, 'a message of some fifty characters, typical enough', ?, 1, ?, ?, ?) RETURNING id`,
					fmt.Sprintf("fill-%d", done), dir, modem, peer, state, now+int64(done), now+int64(done), done%4 == 1).Scan(&row)
				if err != nil {
					return err
				}
				if dir == Out {
					if _, err := tx.ExecContext(ctx, `INSERT INTO parts (message_id, seq, pdu_hex, state, updated_at) VALUES (?, 1, ?, 'sent', ?)`,
						row, part, now); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// rssMB is the process's resident set size (Linux), in MB.
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkList100k measures List on a store of 100,000 messages, and
// reports the Go heap in use and the process's RSS after the queries.
func BenchmarkList100k(b *testing.B) {
	s := openTest(b, nil)
	fill(b, s, 100_000)
	ctx := context.Background()
	mid, err := s.List(ctx, Filter{Limit: 500})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    Filter
	}{
		{"newest", Filter{}},
		{"inbox", Filter{Direction: In}},
		{"outbound-queued", Filter{Direction: Out, States: []State{StateQueued}}},
		{"inbox-unread", Filter{Direction: In, Unread: true}},
		{"from-sender", Filter{From: "+436601200001"}},
		{"after-cursor", Filter{Limit: 500, Cursor: mid.Next}},
	} {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for range b.N {
				t0 := time.Now()
				p, err := s.List(ctx, c.f)
				if err != nil || len(p.Messages) == 0 {
					b.Fatalf("%d messages, %v", len(p.Messages), err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
			b.ReportMetric(rssMB(), "rss-MB")
		})
	}
}

// BenchmarkStats100k measures Stats (every metrics scrape) on 100,000 messages.
func BenchmarkStats100k(b *testing.B) {
	s := openTest(b, nil)
	fill(b, s, 100_000)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if _, err := s.Stats(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
