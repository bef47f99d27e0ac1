package relayconn

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/relaytls"
	"github.com/sim-modem-api/sim-modem-api/modem/relaytls/relaytlstest"
)

// newTLSFakeRelay is a fakeRelay behind a mutual TLS listener configured
// as the relay's.
func newTLSFakeRelay(t *testing.T, s *relaytlstest.Set) *fakeRelay {
	t.Helper()
	cfg, err := relaytls.Server(s.ServerCert, s.ServerKey, s.CA.File)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return newFakeRelayOn(t, tls.NewListener(ln, cfg))
}

// runSession runs a session with cfg until the test ends, and returns the
// readiness changes and disconnect reasons it reports.
func runSession(t *testing.T, cfg Config) (*Session, chan bool, chan string) {
	t.Helper()
	readyc := make(chan bool, 10)
	reasons := make(chan string, 100)
	cfg.Logger = quiet
	cfg.Init = func(ctx context.Context, e *at.Engine) error {
		_, err := e.Command(ctx, "E0")
		return err
	}
	cfg.OnReady = func(r bool) { readyc <- r }
	cfg.OnDisconnect = func(r string) {
		select {
		case reasons <- r:
		default:
		}
	}
	s := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return s, readyc, reasons
}

func TestTLSSession(t *testing.T) {
	set := relaytlstest.NewSet(t)
	f := newTLSFakeRelay(t, set)
	client, err := relaytls.Client(set.CA.File, set.ClientCert, set.ClientKey, "")
	if err != nil {
		t.Fatal(err)
	}
	s, readyc, _ := runSession(t, Config{Addr: f.ln.Addr().String(), TLS: client, Heartbeat: 10 * time.Millisecond})
	select {
	case r := <-readyc:
		if !r {
			t.Fatal("first state change is not ready")
		}
	case <-time.After(10 * time.Second):
		_, why := s.Ready()
		t.Fatalf("not ready over TLS: %s", why)
	}
	e, err := s.Engine()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Command(context.Background(), "+CSQ"); err != nil {
		t.Fatal(err)
	}
	c := <-f.accepted
	st := c.(*tls.Conn).ConnectionState()
	if len(st.PeerCertificates) != 1 || st.PeerCertificates[0].Subject.CommonName != "api" {
		t.Fatalf("relay saw client certificates %v", st.PeerCertificates)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := strings.Join(f.lines, ","); !strings.Contains(got, "ATE0,") || !strings.Contains(got, "AT+CSQ") {
		t.Fatalf("relay got lines %q", got)
	}
}

func TestTLSHandshakeFailureIsADisconnectReason(t *testing.T) {
	set := relaytlstest.NewSet(t)
	for _, tc := range []struct {
		name string
		cfg  func(t *testing.T) *tls.Config
		why  string
	}{
		{"relay refuses the api's certificate", func(t *testing.T) *tls.Config {
			c, err := relaytls.Client(set.CA.File, set.OtherCert, set.OtherKey, "")
			if err != nil {
				t.Fatal(err)
			}
			return relaytlstest.AlwaysPresent(c)
		}, "refused the TLS connection"},
		{"api refuses the relay's certificate", func(t *testing.T) *tls.Config {
			c, err := relaytls.Client(set.OtherCA.File, set.ClientCert, set.ClientKey, "")
			if err != nil {
				t.Fatal(err)
			}
			return c
		}, "TLS handshake with the relay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTLSFakeRelay(t, set)
			s, _, reasons := runSession(t, Config{Addr: f.ln.Addr().String(), TLS: tc.cfg(t), BackoffMin: 20 * time.Millisecond})
			for range 2 {
				select {
				case r := <-reasons:
					if r != ReasonTLSFailed {
						t.Fatalf("reason %q, want %q", r, ReasonTLSFailed)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("no disconnect")
				}
			}
			if ok, why := s.Ready(); ok || !strings.Contains(why, tc.why) {
				t.Fatalf("ready %v %q, want not ready with %q", ok, why, tc.why)
			}
		})
	}
}
