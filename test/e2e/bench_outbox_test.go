//go:build linux

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// postMessage posts one message with a fresh connection-reusing client
// and returns its status and latency.
func (s *stack) postMessage(body string) (int, time.Duration) {
	req, _ := http.NewRequest("POST", "http://"+s.api+"/v1/messages", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+userKey)
	req.Header.Set("Content-Type", "application/json")
	began := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, time.Since(began)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(began)
}

// POST /v1/messages through real HTTP against the api process: accepted
// messages per second and latency (closed loop with 16 clients, and an
// open loop at 500/s), then the api's resident memory with 100,000
// messages in the store while it serves list queries. The messages have a
// sendAt an hour ahead, so this measures the accept path (each one an
// fsynced commit) and the store, not the simulated modem.
func TestBenchOutboxAcceptAndMemory(t *testing.T) {
	benchOnly(t)
	s := newStack(t, stackOpts{apiEnv: []string{"API_POLL_INTERVAL=2s"}})
	pid := s.apiProc.cmd.Process.Pid
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var seq atomic.Int64
	body := func() string {
		n := seq.Add(1)
		return fmt.Sprintf(`{"to":"+43660%07d","text":"bench message %d, a little longer than a greeting","sendAt":"%s"}`, n%10000000, n, later)
	}
	// Closed loop.
	const clients = 16
	const dur = 5 * time.Second
	var mu sync.Mutex
	var lat []time.Duration
	bad := 0
	var wg sync.WaitGroup
	end := time.Now().Add(dur)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				code, d := s.postMessage(body())
				mu.Lock()
				lat = append(lat, d)
				if code != 202 {
					bad++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("closed loop, %d clients, %v: %d accepted (%.0f/s), %d not 202; latency p50 %v p99 %v max %v",
		clients, dur, len(lat)-bad, float64(len(lat)-bad)/dur.Seconds(), bad,
		percentile(lat, .5).Round(time.Microsecond), percentile(lat, .99).Round(time.Microsecond), percentile(lat, 1).Round(time.Microsecond))
	// Open loop at 500/s.
	lat, bad = nil, 0
	const rate = 500
	tick := time.NewTicker(time.Second / rate)
	end = time.Now().Add(dur)
	for time.Now().Before(end) {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, d := s.postMessage(body())
			mu.Lock()
			lat = append(lat, d)
			if code != 202 {
				bad++
			}
			mu.Unlock()
		}()
	}
	tick.Stop()
	wg.Wait()
	t.Logf("open loop at %d/s, %v: %d accepted, %d not 202; latency p50 %v p99 %v max %v", rate, dur, len(lat)-bad, bad,
		percentile(lat, .5).Round(time.Microsecond), percentile(lat, .99).Round(time.Microsecond), percentile(lat, 1).Round(time.Microsecond))

	// Fill the store to 100,000 messages.
	began := time.Now()
	for seq.Load() < 100000 {
		var fill sync.WaitGroup
		for range clients {
			fill.Add(1)
			go func() {
				defer fill.Done()
				for range 100 {
					s.postMessage(body())
				}
			}()
		}
		fill.Wait()
	}
	t.Logf("filled to %d messages in %v", seq.Load(), time.Since(began).Round(time.Millisecond))
	r, h := rss(t, pid)
	t.Logf("api with %d messages, idle: VmRSS %s kB, VmHWM %s kB (%s)", seq.Load(), r, h, rssSplit(t, pid))
	// List queries: first pages, filtered pages, walking with the cursor.
	lat = nil
	end = time.Now().Add(dur)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths := []string{"/v1/messages?limit=50", "/v1/messages?direction=out&state=queued&limit=100", "/v1/messages?limit=500"}
			for i := 0; time.Now().Before(end); i++ {
				began := time.Now()
				var page struct{ Next string }
				if code := s.call("GET", paths[i%len(paths)], userKey, "", &page); code != 200 {
					t.Errorf("list: %d", code)
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(began))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r, h = rss(t, pid)
	t.Logf("list queries with 100k messages, 4 clients, %v: %d pages, p50 %v p99 %v; api VmRSS %s kB, VmHWM %s kB (%s)",
		dur, len(lat), percentile(lat, .5).Round(time.Microsecond), percentile(lat, .99).Round(time.Microsecond), r, h, rssSplit(t, pid))
	var m struct{ Messages []outMsg }
	s.call("GET", "/v1/messages?limit=1", userKey, "", &m)
	if len(m.Messages) != 1 {
		t.Fatal("no messages listed")
	}
}

// POST /v1/messages on PostgreSQL against SQLite (issue 14's figure):
// messages accepted per second through real HTTP by 1 and by 16
// concurrent clients, each message an own committed transaction, sendAt an
// hour ahead so that the modem plays no part. ns/op is the wall time per
// accepted message, so with 16 clients the inverse of the throughput.
//
//	go test -run '^$' -bench AcceptMessages -benchtime 3000x ./e2e
func BenchmarkAcceptMessages(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run("engine="+engine, func(b *testing.B) {
			s := newStack(b, stackOpts{engine: engine, apiEnv: []string{"API_POLL_INTERVAL=2s"}})
			later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			var seq atomic.Int64
			for _, clients := range []int{1, 16} {
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
					var next, bad atomic.Int64
					var wg sync.WaitGroup
					b.ResetTimer()
					for range clients {
						wg.Go(func() {
							for next.Add(1) <= int64(b.N) {
								n := seq.Add(1)
								body := fmt.Sprintf(`{"to":"+43660%07d","text":"bench message %d, a little longer than a greeting","sendAt":"%s"}`, n%10000000, n, later)
								if code, _ := s.postMessage(body); code != 202 {
									bad.Add(1)
								}
							}
						})
					}
					wg.Wait()
					b.StopTimer()
					if bad.Load() > 0 {
						b.Fatalf("%d of %d messages not accepted", bad.Load(), b.N)
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
				})
			}
		})
	}
}
