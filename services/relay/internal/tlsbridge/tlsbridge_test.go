package tlsbridge_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/relaytls"
	"github.com/sim-modem-api/sim-modem-api/modem/relaytls/relaytlstest"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/tlsbridge"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type failure struct {
	addr   string
	reason string
	err    error
}

type fixture struct {
	set      *relaytlstest.Set
	l        *tlsbridge.Listener
	failures chan failure
}

func listen(t *testing.T, tune func(*tlsbridge.Config)) *fixture {
	t.Helper()
	set := relaytlstest.NewSet(t)
	server, err := relaytls.Server(set.ServerCert, set.ServerKey, set.CA.File)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{set: set, failures: make(chan failure, 100)}
	cfg := tlsbridge.Config{TLS: server, OnFailure: func(a net.Addr, r string, err error) {
		f.failures <- failure{a.String(), r, err}
	}}
	if tune != nil {
		tune(&cfg)
	}
	f.l = tlsbridge.New(inner, cfg)
	t.Cleanup(func() {
		f.l.Close()
		f.l.Wait()
	})
	return f
}

func (f *fixture) client(t *testing.T) *tls.Config {
	t.Helper()
	c, err := relaytls.Client(f.set.CA.File, f.set.ClientCert, f.set.ClientKey, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) dial(t *testing.T, cfg *tls.Config) *tls.Conn {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", f.l.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// accept returns the next bridged connection.
func (f *fixture) accept(t *testing.T) net.Conn {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := f.l.Accept(); ch <- res{c, err} }()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		t.Cleanup(func() { r.c.Close() })
		return r.c
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted")
		return nil
	}
}

func (f *fixture) failure(t *testing.T) failure {
	t.Helper()
	select {
	case fl := <-f.failures:
		return fl
	case <-time.After(10 * time.Second):
		t.Fatal("no handshake failure reported")
		return failure{}
	}
}

func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read to end: got %q, then %v", b, err)
	}
	return string(b)
}

func TestBridgesBothWaysWithTheClientsAddresses(t *testing.T) {
	f := listen(t, nil)
	c := f.dial(t, f.client(t))
	r := f.accept(t)
	if r.RemoteAddr().String() != c.LocalAddr().String() || r.LocalAddr().String() != c.RemoteAddr().String() {
		t.Fatalf("bridged addresses %v -> %v, client %v -> %v", r.RemoteAddr(), r.LocalAddr(), c.LocalAddr(), c.RemoteAddr())
	}
	if _, ok := r.(syscall.Conn); !ok {
		t.Fatal("the relay's end has no descriptor")
	}
	if _, ok := r.(interface{ CloseWrite() error }); !ok {
		t.Fatal("the relay's end cannot half-close")
	}

	// Client to relay, split as it comes, then the relay's answer.
	big := bytes.Repeat([]byte("<heartbeat>AT\r"), 10000)
	go func() { _, _ = c.Write(big) }()
	got := make([]byte, len(big))
	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("relay got %d bytes, %v", len(got), err)
	}
	if _, err := r.Write([]byte("\r\nOK\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "\r\nOK\r\n" {
		t.Fatalf("client got %q, %v", buf, err)
	}

	// The relay's last message, then its FIN: the client reads the message
	// and a clean end (close_notify), and what it sends meanwhile still
	// reaches the relay, which drains to end of file once the client closes.
	if _, err := r.Write([]byte("There's already a client in control")); err != nil {
		t.Fatal(err)
	}
	if err := r.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, c); got != "There's already a client in control" {
		t.Fatalf("client got %q before the end", got)
	}
	if _, err := c.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := readAll(t, r); got != "late" {
		t.Fatalf("relay drained %q", got)
	}
}

func TestClientEndIsEndOfFileForTheRelay(t *testing.T) {
	f := listen(t, nil)
	c := f.dial(t, f.client(t))
	r := f.accept(t)
	if _, err := c.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := readAll(t, r); got != "AT\r" {
		t.Fatalf("relay got %q", got)
	}
}

func TestRefusedHandshakes(t *testing.T) {
	f := listen(t, func(c *tlsbridge.Config) { c.HandshakeTimeout = time.Second })
	good := f.client(t)
	other, err := relaytls.Client(f.set.CA.File, f.set.OtherCert, f.set.OtherKey, "")
	if err != nil {
		t.Fatal(err)
	}
	noCert := good.Clone()
	noCert.Certificates = nil

	for _, tc := range []struct {
		name   string
		client func(t *testing.T) net.Conn // returns the client's connection after it has done its part
		reason string
	}{
		{"no client certificate", func(t *testing.T) net.Conn {
			return tlsClient(t, f, noCert)
		}, tlsbridge.ReasonNoCertificate},
		{"certificate of another CA", func(t *testing.T) net.Conn {
			return tlsClient(t, f, relaytlstest.AlwaysPresent(other))
		}, tlsbridge.ReasonBadCertificate},
		{"plain TCP client", func(t *testing.T) net.Conn {
			c := tcpClient(t, f)
			_, _ = c.Write([]byte("<heartbeat>AT\r"))
			return c
		}, tlsbridge.ReasonNotTLS},
		{"silent client", func(t *testing.T) net.Conn {
			return tcpClient(t, f)
		}, tlsbridge.ReasonTimeout},
		{"client gone", func(t *testing.T) net.Conn {
			c := tcpClient(t, f)
			c.Close()
			return nil
		}, tlsbridge.ReasonClientClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client(t)
			fl := f.failure(t)
			if fl.reason != tc.reason {
				t.Fatalf("reason %q (%v), want %q", fl.reason, fl.err, tc.reason)
			}
			if c != nil && fl.addr != c.LocalAddr().String() {
				t.Fatalf("reported address %s, client %s", fl.addr, c.LocalAddr())
			}
			if c != nil {
				// The relay closed the connection.
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, err := io.ReadAll(c)
				if errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatal("connection left open")
				}
			}
		})
	}
	// A valid client still gets through after all that.
	c := f.dial(t, good)
	r := f.accept(t)
	if _, err := c.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
}

// tlsClient completes its side of the handshake and reads, which shows a
// refusal (with TLS 1.3 the client's handshake ends before the server
// has checked its certificate).
func tlsClient(t *testing.T, f *fixture, cfg *tls.Config) net.Conn {
	t.Helper()
	raw := tcpClient(t, f)
	cfg = cfg.Clone()
	cfg.ServerName = "127.0.0.1"
	c := tls.Client(raw, cfg)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := c.Handshake(); err == nil {
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("refused client could read")
		}
	}
	return raw
}

func tcpClient(t *testing.T, f *fixture) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", f.l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestBusy(t *testing.T) {
	f := listen(t, func(c *tlsbridge.Config) { c.MaxHandshakes = 2; c.HandshakeTimeout = 10 * time.Second })
	tcpClient(t, f)
	tcpClient(t, f)
	third := tcpClient(t, f)
	fl := f.failure(t)
	if fl.reason != tlsbridge.ReasonBusy || fl.addr != third.LocalAddr().String() {
		t.Fatalf("got %+v, want the third client refused as busy", fl)
	}
}

func TestCloseEndsHandshakesInProgress(t *testing.T) {
	f := listen(t, func(c *tlsbridge.Config) { c.HandshakeTimeout = time.Minute })
	c := tcpClient(t, f)
	time.Sleep(50 * time.Millisecond) // let the handshake start
	start := time.Now()
	f.l.Close()
	f.l.Wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close and Wait took %v", d)
	}
	if _, err := f.l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("client not closed: %v", err)
	}
	select {
	case fl := <-f.failures:
		t.Fatalf("a handshake ended by Close was reported: %+v", fl)
	default:
	}
}

// A client that stops reading is cut off after the write timeout, so the
// relay's writes fail instead of blocking for ever.
func TestClientThatDoesNotReadIsCutOff(t *testing.T) {
	f := listen(t, func(c *tlsbridge.Config) { c.WriteTimeout = 200 * time.Millisecond })
	f.dial(t, f.client(t)) // never reads
	r := f.accept(t)
	chunk := make([]byte, 64<<10)
	deadline := time.Now().Add(20 * time.Second)
	_ = r.SetWriteDeadline(deadline)
	var err error
	for err == nil {
		_, err = r.Write(chunk)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the relay's writes blocked until %v: not cut off", deadline)
	}
}

// Many clients at once: each gets its own bridge and its own bytes.
func TestConcurrentClients(t *testing.T) {
	f := listen(t, nil)
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := tls.Dial("tcp", f.l.Addr().String(), f.client(t))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			_, _ = c.Write([]byte{byte('a' + i)})
			b, _ := io.ReadAll(c)
			if len(b) != 1 || b[0] != byte('A'+i) {
				t.Errorf("client %d got %q", i, b)
			}
		})
	}
	for range n {
		r := f.accept(t)
		b := make([]byte, 1)
		_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(r, b); err != nil {
			t.Fatal(err)
		}
		_, _ = r.Write([]byte{b[0] - 'a' + 'A'})
		r.Close()
	}
	wg.Wait()
}
