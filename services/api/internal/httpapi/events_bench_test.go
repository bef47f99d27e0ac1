package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/apikeys"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/webhook"
)

// latencies records, per event seq, the time from its append to its
// receipt by one consumer.
type latencies struct {
	at   []atomic.Int64 // when each seq's append began (Unix ns), shared
	mu   sync.Mutex
	got  []time.Duration
	seen int
}

func (l *latencies) add(seq int64) {
	now := time.Now().UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq > 0 && seq < int64(len(l.at)) {
		if t0 := l.at[seq].Load(); t0 != 0 {
			l.got = append(l.got, time.Duration(now-t0))
		}
	}
	l.seen++
}

func (l *latencies) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen
}

func pct(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	return float64(d[min(len(d)-1, int(float64(len(d))*p))].Microseconds()) / 1000
}

// procStatus reads a "VmRSS"-like field of /proc/self/status in MB.
func procStatus(field string) float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkEventFanout appends events at a fixed rate (BENCH_RATE,
// default 1000/s) for BENCH_SECONDS (default 10) into a real store while
// one webhook (a real HTTP receiver, through the webhook manager) and 10
// SSE clients (real streams of this API) consume them. It reports the
// append rate sustained, the latency from an append to its receipt by the
// webhook receiver and by the streams (p50, p99), how long the consumers
// needed after the last append, and this process's resident memory.
//
//	go test -run XXX -bench EventFanout -benchtime 1x ./internal/httpapi
func BenchmarkEventFanout(b *testing.B) {
	rate, secs := 1000, 10
	if v, err := strconv.Atoi(os.Getenv("BENCH_RATE")); err == nil && v > 0 {
		rate = v
	}
	if v, err := strconv.Atoi(os.Getenv("BENCH_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	const clients = 10
	total := rate * secs
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		st, err := store.OpenDir(ctx, b.TempDir(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		starts := make([]atomic.Int64, total+1)
		hook := &latencies{at: starts}
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var ev struct{ Seq int64 }
			body, _ := io.ReadAll(r.Body)
			if json.Unmarshal(body, &ev) == nil {
				hook.add(ev.Seq)
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		if _, err := st.CreateWebhook(ctx, store.WebhookRequest{URL: recv.URL}); err != nil {
			b.Fatal(err)
		}
		mgr := webhook.New(webhook.Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		mgrDone := make(chan struct{})
		go func() { defer close(mgrDone); mgr.Run(ctx) }()

		app := New(Deps{Events: st, Keys: apikeys.New([]string{userKey}, nil), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			MaxStreams: clients, StreamStop: ctx})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		appDone := make(chan struct{})
		go func() { defer close(appDone); _ = app.Listener(ln) }()
		var streams []*latencies
		var wg sync.WaitGroup
		for range clients {
			l := &latencies{at: starts}
			streams = append(streams, l)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ln.Addr().String()+"/v1/events", nil)
			req.Header.Set("Authorization", "Bearer "+userKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("stream: %v %v", resp, err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer resp.Body.Close()
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					if v, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
						n, _ := strconv.ParseInt(v, 10, 64)
						l.add(n)
					}
				}
			}()
		}

		b.ResetTimer()
		began := time.Now()
		for i := range total {
			if d := time.Until(began.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
				time.Sleep(d)
			}
			starts[i+1].Store(time.Now().UnixNano()) // seqs are 1.. in a fresh store
			if _, err := st.AppendEvent(ctx, store.EventModemRegistration, map[string]any{"i": i, "status": "home"}); err != nil {
				b.Fatal(err)
			}
		}
		appended := time.Since(began)
		done := func() bool {
			if hook.count() < total {
				return false
			}
			for _, s := range streams {
				if s.count() < total {
					return false
				}
			}
			return true
		}
		for deadline := time.Now().Add(2 * time.Minute); !done(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("after 2 min: webhook %d of %d", hook.count(), total)
			}
		}
		drained := time.Since(began) - appended
		b.StopTimer()
		var sse []time.Duration
		for _, s := range streams {
			sse = append(sse, s.got...)
		}
		b.ReportMetric(float64(total)/appended.Seconds(), "events/s")
		b.ReportMetric(pct(hook.got, .5), "webhook-p50-ms")
		b.ReportMetric(pct(hook.got, .99), "webhook-p99-ms")
		b.ReportMetric(pct(sse, .5), "sse-p50-ms")
		b.ReportMetric(pct(sse, .99), "sse-p99-ms")
		b.ReportMetric(float64(drained.Milliseconds()), "drain-ms")
		b.ReportMetric(procStatus("VmRSS"), "rss-MB")
		b.ReportMetric(procStatus("VmHWM"), "peak-rss-MB")
		cancel()
		wg.Wait()
		<-mgrDone
		_ = app.Shutdown()
		<-appDone
		recv.Close()
		st.Close()
	}
}
