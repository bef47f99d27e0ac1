//go:build linux

package e2e

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/simulator/control"
)

// sseFrame is one event of GET /v1/events.
type sseFrame struct {
	id, event, data string
	at              time.Time // when it was read
}

// eventStream reads GET /v1/events frame by frame.
type eventStream struct {
	frames chan sseFrame
	cancel context.CancelFunc
	done   chan struct{}
}

// openEvents opens GET /v1/events with the query (e.g. "?types=…") and,
// if not empty, a Last-Event-ID.
func (s *stack) openEvents(query, lastID string) *eventStream {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.api+"/v1/events"+query, nil)
	req.Header.Set("Authorization", "Bearer "+userKey)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := (&http.Client{}).Do(req) // no client timeout: a stream
	if err != nil {
		cancel()
		s.t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		resp.Body.Close()
		s.t.Fatalf("GET /v1/events%s: %d %s", query, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	e := &eventStream{frames: make(chan sseFrame, 10000), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		defer close(e.frames)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var f sseFrame
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == "":
				if f.id != "" {
					f.at = time.Now()
					e.frames <- f
				}
				f = sseFrame{}
			case strings.HasPrefix(line, "id: "):
				f.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				f.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				f.data = line[6:]
			}
		}
	}()
	s.t.Cleanup(e.close)
	return e
}

func (e *eventStream) close() {
	e.cancel()
	<-e.done
}

func (e *eventStream) next(t *testing.T, n int) []sseFrame {
	t.Helper()
	var out []sseFrame
	timeout := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case f, ok := <-e.frames:
			if !ok {
				t.Fatalf("the stream ended after %d of %d events", len(out), n)
			}
			out = append(out, f)
		case <-timeout:
			t.Fatalf("%d of %d events within 20 s", len(out), n)
		}
	}
	return out
}

func (e *eventStream) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case f, ok := <-e.frames:
		if ok {
			t.Fatalf("unexpected event %+v", f)
		}
	case <-time.After(d):
	}
}

// ended reports whether the stream ended within d (the server closed it).
func (e *eventStream) ended(d time.Duration) bool {
	select {
	case <-e.done:
		return true
	case <-time.After(d):
		return false
	}
}

// A client reads, disconnects, and resumes with Last-Event-ID across a
// kill -9 of the api and one of the relay: the events between come from
// the stored log, with no gap and no duplicate.
func TestStreamResumesAcrossRestart(t *testing.T) {
	// A short keep-alive: its write notices the client that left.
	s := newStack(t, stackOpts{apiEnv: append([]string{"API_SSE_KEEPALIVE=200ms"}, inboxEnv...)})
	sms := func(i int) string { return "message " + strconv.Itoa(i) }
	var got []sseFrame
	stream := s.openEvents("?types=sms.received", "")
	for i := range 3 {
		s.deliver(control.IncomingSMS{From: "+436601234567", Text: sms(i)})
	}
	got = append(got, stream.next(t, 3)...)
	stream.close()
	s.waitFor("the stream freed", 10*time.Second, func() bool {
		return strings.Contains(s.metrics(), "\nsimmodem_api_event_streams 0\n")
	})
	// While the client is away: two more, then the api dies (kill -9), one
	// arrives at the modem while the api is down, and the api comes back.
	s.deliver(control.IncomingSMS{From: "+436601234567", Text: sms(3)})
	s.deliver(control.IncomingSMS{From: "+436601234567", Text: sms(4)})
	s.waitFor("both stored", 20*time.Second, func() bool { return len(s.inbox()) == 5 })
	_ = s.apiProc.cmd.Process.Kill()
	<-s.apiProc.done
	s.deliver(control.IncomingSMS{From: "+436601234567", Text: sms(5)})
	s.apiProc = start(s.t, s.dir, "api", s.apiEnv)
	s.waitHTTP("http://" + s.api + "/healthz")

	resumed := s.openEvents("?types=sms.received", got[len(got)-1].id)
	got = append(got, resumed.next(t, 3)...)
	s.deliver(control.IncomingSMS{From: "+436601234567", Text: sms(6)}) // live again
	got = append(got, resumed.next(t, 1)...)
	resumed.none(t, 500*time.Millisecond)
	for i, f := range got {
		if f.event != "sms.received" || !strings.Contains(f.data, `"text":"`+sms(i)+`"`) {
			t.Fatalf("event %d: %+v (want %q): events %v", i, f, sms(i), got)
		}
		if i > 0 {
			prev, _ := strconv.Atoi(got[i-1].id)
			cur, _ := strconv.Atoi(f.id)
			if cur <= prev {
				t.Fatalf("ids not increasing: %v", got)
			}
		}
	}
	// A stream open at shutdown ends, so the api stops in time (proc.stop
	// checks its exit code after SIGTERM).
	open := s.openEvents("", "")
	s.apiProc.stop(t)
	if !open.ended(5 * time.Second) {
		t.Fatal("the stream outlived the api's shutdown")
	}
}

// The stream carries the modem's events: connected and disconnected
// around an unplug.
func TestStreamModemEvents(t *testing.T) {
	s := newStack(t, stackOpts{})
	stream := s.openEvents("?types=modem.*&after=0", "")
	first := stream.next(t, 1)
	if first[0].event != "modem.connected" || !strings.Contains(first[0].data, `"imei":"`) {
		t.Fatalf("first %+v", first[0])
	}
	_ = s.relay.cmd.Process.Kill()
	<-s.relay.done
	if f := stream.next(t, 1)[0]; f.event != "modem.disconnected" || !strings.Contains(f.data, `"reason":"`) {
		t.Fatalf("after killing the relay: %+v", f)
	}
	s.startRelay()
	if f := stream.next(t, 1)[0]; f.event != "modem.connected" {
		t.Fatalf("after the relay came back: %+v", f)
	}
}
