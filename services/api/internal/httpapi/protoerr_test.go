package httpapi

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/apikeys"
)

// TestProtocolErrorsDoNotEchoTheRequest sends malformed HTTP requests over a
// real TCP connection: the answer is a generic JSON error that contains
// nothing of the request (the key above all), and the api's own log has
// the reason without the key.
func TestProtocolErrorsDoNotEchoTheRequest(t *testing.T) {
	const secret = "admin-key-SECRET-0123456789"
	var logBuf syncBuffer
	app := New(Deps{
		Keys: apikeys.New(nil, []string{secret}), Log: slog.New(slog.NewTextHandler(&logBuf, nil)),
		Ready: func() (bool, string) { return true, "" }, BodyLimit: 1 << 10,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Error(err)
		}
		<-done
	})

	requests := map[string]string{
		"header with a bad name": "GET /v1/modem/status HTTP/1.1\r\nHost: x\r\nAuth orization: Bearer " + secret + "\r\n\r\n",
		"bad request line":       "GET /v1/modem/status?key=" + secret + " HTTP/1.1 extra\r\nHost: x\r\n\r\n",
		"bad content length":     "POST /v1/sms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + secret + "\r\nContent-Length: x1\r\n\r\n{}",
		"headers too large":      "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + secret + "\r\nX-Pad: " + strings.Repeat("a", 16<<10) + "\r\n\r\n",
		"body too large":         "POST /v1/sms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + secret + "\r\nContent-Length: 4096\r\n\r\n" + strings.Repeat(secret, 4096/len(secret)+1)[:4096],
		"unknown path":           "GET /v1/nothing-" + secret + " HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	for name, raw := range requests {
		t.Run(name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(conn, raw); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("status %d, want 4xx", resp.StatusCode)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("content type %q, want JSON", resp.Header.Get("Content-Type"))
			}
			for _, leak := range []string{secret, "SECRET", "Host:", "HTTP/1.1", "contents"} {
				if bytes.Contains(body, []byte(leak)) {
					t.Errorf("answer contains %q: %s", leak, body)
				}
			}
		})
	}
	if strings.Contains(logBuf.String(), "SECRET") {
		t.Errorf("the api's log contains the key:\n%s", logBuf.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's and the test's
// goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
