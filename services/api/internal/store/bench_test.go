package store

import (
	"context"
	"fmt"
	"slices"
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
