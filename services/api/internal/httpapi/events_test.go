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
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/apikeys"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// eventRig is the app over a real store, served on a real listener.
type eventRig struct {
	app     *fiber.App
	st      *store.Store
	base    string
	streams atomic.Int64
	reloads atomic.Int64
	stop    context.CancelFunc
}

func newEventRig(t *testing.T, maxStreams int) *eventRig {
	t.Helper()
	st, err := store.OpenDir(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	r := &eventRig{st: st, stop: cancel}
	r.app = New(Deps{Events: st, Keys: apikeys.New([]string{userKey}, []string{adminKey}), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaxStreams: maxStreams, KeepAlive: 20 * time.Millisecond, StreamStop: ctx,
		OnStreams: func(n int) { r.streams.Store(int64(n)) }, WebhooksChanged: func() { r.reloads.Add(1) }})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.base = "http://" + ln.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = r.app.Listener(ln) }()
	t.Cleanup(func() {
		cancel() // ends the streams, so that the shutdown does not wait for them
		if err := r.app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Error(err)
		}
		<-done
	})
	return r
}

func (r *eventRig) append(t *testing.T, typ string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := r.st.AppendEvent(context.Background(), typ, map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
}

// sseEvent is one frame of the stream.
type sseEvent struct {
	id, event, data string
}

// sseClient reads a stream frame by frame.
type sseClient struct {
	resp   *http.Response
	frames chan sseEvent
	cancel context.CancelFunc
}

func openStream(t *testing.T, url, lastID string) (*sseClient, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+userKey)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Cleanup(func() { cancel(); resp.Body.Close() })
		return nil, resp
	}
	c := &sseClient{resp: resp, frames: make(chan sseEvent, 1000), cancel: cancel}
	go func() {
		defer close(c.frames)
		sc := bufio.NewScanner(resp.Body)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.id != "" {
					c.frames <- cur
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				cur.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				cur.data = line[6:]
			}
		}
	}()
	t.Cleanup(c.close)
	return c, resp
}

func (c *sseClient) close() {
	c.cancel()
	c.resp.Body.Close()
}

func (c *sseClient) next(t *testing.T, n int) []sseEvent {
	t.Helper()
	var out []sseEvent
	timeout := time.After(5 * time.Second)
	for len(out) < n {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatalf("stream ended after %d of %d events", len(out), n)
			}
			out = append(out, f)
		case <-timeout:
			t.Fatalf("%d of %d events", len(out), n)
		}
	}
	return out
}

// none checks that no frame arrives within d.
func (c *sseClient) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case f := <-c.frames:
		t.Fatalf("unexpected %+v", f)
	case <-time.After(d):
	}
}

func ids(evs []sseEvent) []int {
	var out []int
	for _, e := range evs {
		n, _ := strconv.Atoi(e.id)
		out = append(out, n)
	}
	return out
}

func consecutive(t *testing.T, got []int, from int) {
	t.Helper()
	for i, n := range got {
		if n != from+i {
			t.Fatalf("ids %v, want %d consecutive from %d", got, len(got), from)
		}
	}
}

func TestEventStreamResumesWithoutGapOrDuplicate(t *testing.T) {
	r := newEventRig(t, 4)
	r.append(t, store.EventModemConnected, 3)
	c, resp := openStream(t, r.base+"/v1/events?after=0", "")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	first := c.next(t, 3)
	consecutive(t, ids(first), 1)
	var body struct {
		ID   string
		Seq  int
		Type string
		Data map[string]int
	}
	if err := json.Unmarshal([]byte(first[2].data), &body); err != nil || body.Seq != 3 || body.Type != store.EventModemConnected ||
		first[2].event != store.EventModemConnected || !strings.HasPrefix(body.ID, "evt_") || body.Data["i"] != 2 {
		t.Fatalf("frame %+v: %v", first[2], err)
	}
	r.append(t, store.EventModemDisconnect, 2) // live
	consecutive(t, ids(c.next(t, 2)), 4)
	c.close()
	r.append(t, store.EventModemRegistration, 3) // while away
	// An EventSource reconnects with its URL (?after=0) and Last-Event-ID: the header wins.
	c2, _ := openStream(t, r.base+"/v1/events?after=0", "5")
	consecutive(t, ids(c2.next(t, 3)), 6)
	r.append(t, store.EventModemSIM, 1)
	consecutive(t, ids(c2.next(t, 1)), 9)
	c2.none(t, 100*time.Millisecond)

	// Filters, and a stream without a resume point starts with the next event.
	c3, _ := openStream(t, r.base+"/v1/events?types=modem.sim,modem.registration&after=0", "")
	consecutive(t, ids(c3.next(t, 4)), 6)
	c4, _ := openStream(t, r.base+"/v1/events", "")
	time.Sleep(50 * time.Millisecond)
	c4.none(t, 0)
	r.append(t, store.EventModemSIM, 1)
	consecutive(t, ids(c4.next(t, 1)), 10)
	consecutive(t, ids(c3.next(t, 1)), 10)
}

func TestEventStreamClientGoneIsFreed(t *testing.T) {
	r := newEventRig(t, 2)
	c, _ := openStream(t, r.base+"/v1/events?after=0", "")
	c2, _ := openStream(t, r.base+"/v1/events", "")
	waitUntil(t, "two streams", func() bool { return r.streams.Load() == 2 })
	// A third is refused while two are open.
	if _, resp := openStream(t, r.base+"/v1/events", ""); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream: %d", resp.StatusCode)
	}
	c.close()
	c2.close()
	// The keep-alive's write fails: both writers return and free their slot.
	waitUntil(t, "the streams freed", func() bool { return r.streams.Load() == 0 })
	c3, _ := openStream(t, r.base+"/v1/events", "")
	r.append(t, store.EventModemConnected, 1)
	consecutive(t, ids(c3.next(t, 1)), 1)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEventStreamBadRequests(t *testing.T) {
	r := newEventRig(t, 2)
	for _, c := range []struct{ url, lastID, field string }{
		{"/v1/events?types=nope", "", "types"},
		{"/v1/events?after=-1", "", "after"},
		{"/v1/events?after=x", "", "after"},
		{"/v1/events?since=1", "", "since"},
		{"/v1/events", "abc", "Last-Event-ID"},
	} {
		_, resp := openStream(t, r.base+c.url, c.lastID)
		var e Error
		_ = json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode != http.StatusBadRequest || len(e.Fields) != 1 || e.Fields[0].Field != c.field {
			t.Errorf("%s: %d %+v", c.url, resp.StatusCode, e)
		}
	}
}

func (r *eventRig) call(t *testing.T, key, method, path, body string, out any) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.app.Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil && err != io.EOF {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func TestWebhookEndpoints(t *testing.T) {
	r := newEventRig(t, 2)
	var created WebhookView
	if code := r.call(t, adminKey, "POST", "/v1/webhooks", `{"url":"https://receiver.example/hook","events":["sms.received","message.*"]}`, &created); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if !strings.HasPrefix(created.ID, "wh_") || !strings.HasPrefix(created.Secret, "whsec_") || created.State != "active" ||
		len(created.Events) != 2 || created.Source != "api" || r.reloads.Load() != 1 {
		t.Fatalf("%+v", created)
	}
	var withSecret WebhookView
	if code := r.call(t, adminKey, "POST", "/v1/webhooks", `{"url":"http://127.0.0.1:9/x","secret":"my-own-secret-1234"}`, &withSecret); code != 201 ||
		withSecret.Secret != "my-own-secret-1234" || withSecret.Events[0] != "*" {
		t.Fatalf("%d %+v", code, withSecret)
	}
	if code := r.call(t, userKey, "POST", "/v1/webhooks", `{"url":"https://x/"}`, nil); code != 403 {
		t.Fatalf("a user key: %d", code)
	}
	if code := r.call(t, userKey, "GET", "/v1/webhooks", "", nil); code != 403 {
		t.Fatalf("a user key lists: %d", code)
	}
	for body, field := range map[string]string{
		`{"url":"file:///etc/passwd"}`:           "url",
		`{"url":"gopher://x/"}`:                  "url",
		`{}`:                                     "url",
		`{"url":"https://x/","events":["nope"]}`: "events",
		`{"url":"https://x/","secret":"short"}`:  "secret",
		`{"url":"https://x/","unknown":1}`:       "unknown",
	} {
		var e Error
		code := r.call(t, adminKey, "POST", "/v1/webhooks", body, &e)
		if (code != 422 && code != 400) || len(e.Fields) == 0 || e.Fields[0].Field != field {
			t.Errorf("%s: %d %+v", body, code, e)
		}
	}
	var list struct{ Webhooks []WebhookView }
	if code := r.call(t, adminKey, "GET", "/v1/webhooks", "", &list); code != 200 || len(list.Webhooks) != 2 || list.Webhooks[0].Secret != "" {
		t.Fatalf("list: %d %+v", code, list)
	}
	r.append(t, store.EventModemConnected, 2)
	var one WebhookView
	if code := r.call(t, adminKey, "GET", "/v1/webhooks/"+withSecret.ID, "", &one); code != 200 || one.Backlog != 2 || one.Secret != "" {
		t.Fatalf("get: %d %+v", code, one)
	}
	if code := r.call(t, adminKey, "DELETE", "/v1/webhooks/"+withSecret.ID, "", nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code := r.call(t, adminKey, "GET", "/v1/webhooks/"+withSecret.ID, "", nil); code != 404 {
		t.Fatalf("get deleted: %d", code)
	}
	if code := r.call(t, adminKey, "DELETE", "/v1/webhooks/"+withSecret.ID, "", nil); code != 404 {
		t.Fatalf("delete again: %d", code)
	}
	if r.reloads.Load() != 3 {
		t.Fatalf("%d reloads", r.reloads.Load())
	}
}

// A client that stops reading (its socket buffers full) is dropped after
// the stall time, and its stream freed.
func TestEventStreamStalledClientIsDropped(t *testing.T) {
	r := newEventRig(t, 2)
	conn, err := net.Dial("tcp", strings.TrimPrefix(r.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	if _, err := conn.Write([]byte("GET /v1/events?after=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + userKey + "\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the stream", func() bool { return r.streams.Load() == 1 })
	big := map[string]string{"pad": strings.Repeat("x", 64<<10)}
	for range 300 { // ~20 MB: more than the socket buffers hold
		if _, err := r.st.AppendEvent(context.Background(), store.EventModemRegistration, big); err != nil {
			t.Fatal(err)
		}
	}
	// KeepAlive 20 ms: the stall time is its floor, 1 s.
	deadline := time.Now().Add(10 * time.Second)
	for r.streams.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a client that reads nothing still holds its stream after 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
