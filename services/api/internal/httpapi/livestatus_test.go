package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/poller"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/apikeys"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// frame is one event of a stream, with or without an id.
type frame struct{ id, event, data string }

// readFrames sends every frame of the stream body to the channel.
func readFrames(body io.Reader, out chan<- frame) {
	defer close(out)
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var cur frame
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.event != "" {
				out <- cur
			}
			cur = frame{}
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		}
	}
}

// The event stream carries the modem's status live (modem.status, no id,
// not stored) when the stream opens and on every refresh of the
// snapshot, beside the stored events, so a live view needs no polling.
func TestEventStreamLiveModemStatus(t *testing.T) {
	st, err := store.OpenDir(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pl := poller.New(nil, nil, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	app := New(Deps{Events: st, Keys: apikeys.New([]string{userKey}, nil), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Snapshot: pl.Snapshot, SnapshotChanged: pl.Changed, Ready: func() (bool, string) { return false, "test" },
		KeepAlive: time.Minute, StreamStop: ctx})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = app.Listener(ln) }()
	t.Cleanup(func() {
		cancel()
		if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Error(err)
		}
		<-done
	})
	open := func(query string) (<-chan frame, func()) {
		t.Helper()
		rctx, rcancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, "http://"+ln.Addr().String()+"/v1/events"+query, nil)
		req.Header.Set("Authorization", "Bearer "+userKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			rcancel()
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			rcancel()
			resp.Body.Close()
			t.Fatalf("GET /v1/events%s: %s", query, resp.Status)
		}
		frames := make(chan frame, 100)
		go readFrames(resp.Body, frames)
		return frames, func() { rcancel(); resp.Body.Close() }
	}
	next := func(frames <-chan frame) frame {
		t.Helper()
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatal("the stream ended")
			}
			return f
		case <-time.After(5 * time.Second):
			t.Fatal("no frame within 5 s")
		}
		return frame{}
	}
	status := func(f frame) StatusResponse {
		t.Helper()
		if f.event != EventModemStatus || f.id != "" {
			t.Fatalf("frame %+v, want a modem.status without an id", f)
		}
		var body struct {
			Type string         `json:"type"`
			Data StatusResponse `json:"data"`
		}
		if err := json.Unmarshal([]byte(f.data), &body); err != nil || body.Type != EventModemStatus {
			t.Fatalf("modem.status data %q: %v", f.data, err)
		}
		return body.Data
	}

	all, closeAll := open("")
	defer closeAll()
	if s := status(next(all)); s.Snapshot == nil || s.Reason != "not polled yet" {
		t.Fatalf("the first status: %+v", s.Snapshot)
	}
	pl.Unreachable("relay session lost")
	if s := status(next(all)); s.Reachable || s.Reason != "relay session lost" || s.Ready {
		t.Fatalf("the status after the change: %+v", s.Snapshot)
	}
	// stored events still come, with their ids, beside the live status
	if _, err := st.AppendEvent(context.Background(), store.EventModemSIM, map[string]string{"sim": "pin"}); err != nil {
		t.Fatal(err)
	}
	if f := next(all); f.event != store.EventModemSIM || f.id == "" {
		t.Fatalf("stored event %+v", f)
	}

	// ?types= selects: only the stored type, or only the live status
	onlySIM, closeSIM := open("?types=modem.sim")
	defer closeSIM()
	onlyStatus, closeStatus := open("?types=" + EventModemStatus)
	defer closeStatus()
	status(next(onlyStatus))
	pl.Unreachable("again")
	if s := status(next(onlyStatus)); s.Reason != "again" {
		t.Fatalf("status %+v", s.Snapshot)
	}
	if _, err := st.AppendEvent(context.Background(), store.EventModemSIM, map[string]string{"sim": "ready"}); err != nil {
		t.Fatal(err)
	}
	if f := next(onlySIM); f.event != store.EventModemSIM {
		t.Fatalf("?types=modem.sim got %+v first", f)
	}
	select {
	case f := <-onlyStatus:
		t.Fatalf("?types=modem.status got %+v", f)
	case <-time.After(200 * time.Millisecond):
	}
}
