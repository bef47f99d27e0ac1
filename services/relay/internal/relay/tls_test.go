package relay_test

import (
	"crypto/tls"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sim-modem-api/sim-modem-api/modem/relaytls"
	"github.com/sim-modem-api/sim-modem-api/modem/relaytls/relaytlstest"
	"github.com/sim-modem-api/sim-modem-api/modem/relaywire"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/relay"
	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/tlsbridge"
)

// tlsFixture is the certificates of a relay with mutual TLS and of its
// clients.
type tlsFixture struct {
	set    *relaytlstest.Set
	server *tls.Config
	client *tls.Config
}

func newTLSFixture(t *testing.T) *tlsFixture {
	t.Helper()
	set := relaytlstest.NewSet(t)
	server, err := relaytls.Server(set.ServerCert, set.ServerKey, set.CA.File)
	if err != nil {
		t.Fatal(err)
	}
	client, err := relaytls.Client(set.CA.File, set.ClientCert, set.ClientKey, "")
	if err != nil {
		t.Fatal(err)
	}
	return &tlsFixture{set: set, server: server, client: client}
}

func startTLS(t *testing.T, f *tlsFixture, opts ...option) *harness {
	t.Helper()
	return start(t, append(opts, withTLS(f.server))...)
}

// tlsClient is a client of the relay over mutual TLS on real TCP.
type tlsClient struct {
	client        // conn: a *tls.Conn, or the plain TCP connection of a client that does not speak TLS
	addr   string // the client's TCP address, as the relay logs it
}

// dialTLS connects with cfg; the handshake runs with the first read or
// write (with TLS 1.3 a refused client learns of it at its first read).
func (h *harness) dialTLS(cfg *tls.Config) *tlsClient {
	h.t.Helper()
	raw, err := net.Dial("tcp", h.addr)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { raw.Close() })
	cfg = cfg.Clone()
	cfg.ServerName = "127.0.0.1"
	return &tlsClient{client: client{t: h.t, conn: tls.Client(raw, cfg)}, addr: raw.LocalAddr().String()}
}

// dialTLSInControl connects with cfg and waits until the relay has given
// it control.
func (h *harness) dialTLSInControl(cfg *tls.Config) *tlsClient {
	h.t.Helper()
	before := strings.Count(h.logText(), "Successfully gave control to this client socket")
	c := h.dialTLS(cfg)
	if err := c.conn.(*tls.Conn).Handshake(); err != nil {
		h.t.Fatalf("handshake: %v", err)
	}
	h.eventually("control given", func() bool {
		return strings.Count(h.logText(), "Successfully gave control to this client socket") > before
	})
	return c
}

// expectRefused checks that the relay ends the connection without a byte
// of the modem's or a relay message.
func (c *tlsClient) expectRefused() {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(waitFor))
	b, err := io.ReadAll(c.conn)
	if len(b) > 0 {
		c.t.Fatalf("refused client read %q", b)
	}
	if err != nil && strings.Contains(err.Error(), "timeout") {
		c.t.Fatalf("refused client still connected: %v", err)
	}
}

var traceLine = regexp.MustCompile(`(?m)^\[\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d\] SER_W ->AT\\r<-$`)

// A valid client works as over plain TCP: heartbeats (also split across
// TLS records) are removed, the modem answers, the trace log has the
// original's format; a second valid client gets the original's refusal
// and the first is not disturbed; at shutdown the client gets the
// relay's message.
func TestTLSClientInControl(t *testing.T) {
	f := newTLSFixture(t)
	h := startTLS(t, f)
	c := h.dialTLSInControl(f.client)
	c.send(relaywire.DefaultSentinel + "AT\r")
	c.expect("AT\r\r\nOK\r\n")
	c.send("<heart")
	time.Sleep(20 * time.Millisecond) // a record of its own
	c.send("beat>ATE0\r<heartbeat>")
	c.expect("ATE0\r\r\nOK\r\n")
	if got := h.serialWritten(); got != "AT\rATE0\r" {
		t.Fatalf("written to serial %q", got)
	}
	h.eventually("3 heartbeats", func() bool { return testutil.ToFloat64(h.m.HeartbeatsReceived) == 3 })
	if !traceLine.MatchString(h.logText()) {
		t.Fatalf("no SER_W line in the original's format:\n%s", h.logText())
	}
	h.waitLog("Successfully accepted a client socket")

	second := h.dialTLS(f.client)
	second.send("<heartbeat>AT\r") // must neither reach the modem nor break the message
	second.expectClosed(relaywire.MsgAlreadyInControl)
	h.waitLog("Rejected the client socket " + second.addr + ": there's already a client in control")
	if v := testutil.ToFloat64(h.m.ConnectionsRejected.WithLabelValues("client_in_control")); v != 1 {
		t.Fatalf("rejected = %v", v)
	}
	c.send("AT\r")
	c.expect("\r\nOK\r\n")
	if got := h.serialWritten(); got != "AT\rATE0\rAT\r" {
		t.Fatalf("written to serial %q", got)
	}

	h.cancel()
	c.expectClosed(relaywire.MsgRelayShuttingDown)
	h.waitLog("Disconnected the client socket " + c.addr + ": the relay is shutting down")
}

func TestTLSHeartbeatTimeout(t *testing.T) {
	f := newTLSFixture(t)
	h := startTLS(t, f, withConfig(func(c *relay.Config) { c.HeartbeatTimeout = 300 * time.Millisecond }))
	c := h.dialTLSInControl(f.client)
	c.send("AT+CFUN=0;") // unterminated: discarded when the client goes
	c.expectClosed(relaywire.MsgHeartbeatTimeout)
	h.waitLog("Disconnected the client socket " + c.addr + ": the heartbeat timeout elapsed")
	h.waitLog("Discarded the unterminated bytes of the client socket " + c.addr + " ->AT+CFUN=0;<-")
	if got := h.serialWritten(); got != "" {
		t.Fatalf("written to serial %q", got)
	}
	// The slot is free again.
	next := h.dialTLSInControl(f.client)
	next.send("<heartbeat>AT\r")
	next.expect("AT\r\r\nOK\r\n")
}

// Clients without a valid certificate never reach the relay: each is
// refused, logged with its address and the reason, and counted, also while
// a valid client is in control, which is not disturbed.
func TestTLSRefusedClients(t *testing.T) {
	f := newTLSFixture(t)
	h := startTLS(t, f)
	other, err := relaytls.Client(f.set.CA.File, f.set.OtherCert, f.set.OtherKey, "")
	if err != nil {
		t.Fatal(err)
	}
	noCert := f.client.Clone()
	noCert.Certificates = nil

	refuse := func(name string, c *tlsClient, do func(*tlsClient), reason, why string) {
		t.Helper()
		do(c)
		c.expectRefused()
		h.waitLog("Rejected the client socket " + c.addr + ": the TLS handshake failed (" + reason + "): " + why)
		if v := testutil.ToFloat64(h.m.TLSHandshakeFailures.WithLabelValues(reason)); v < 1 {
			t.Fatalf("%s: relay_tls_handshake_failures_total{reason=%q} = %v", name, reason, v)
		}
	}
	sendAT := func(c *tlsClient) { _, _ = c.conn.Write([]byte("<heartbeat>AT\r")) }
	plain := func() *tlsClient {
		raw, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return &tlsClient{client: client{t: t, conn: raw}, addr: raw.LocalAddr().String()}
	}
	for round := range 2 {
		var c *tlsClient
		if round == 1 {
			c = h.dialTLSInControl(f.client)
			c.send("<heartbeat>AT\r")
			c.expect("AT\r\r\nOK\r\n")
		}
		refuse("no certificate", h.dialTLS(noCert), sendAT, tlsbridge.ReasonNoCertificate, "tls: client didn't provide a certificate")
		refuse("another CA", h.dialTLS(relaytlstest.AlwaysPresent(other)), sendAT, tlsbridge.ReasonBadCertificate, "tls: failed to verify certificate")
		refuse("plain TCP", plain(), sendAT, tlsbridge.ReasonNotTLS, "tls: first record does not look like a TLS handshake")
		if c != nil {
			c.send("<heartbeat>AT\r")
			c.expect("AT\r\r\nOK\r\n")
		}
	}
	if v := testutil.ToFloat64(h.m.ConnectionsAccepted); v != 1 {
		t.Fatalf("accepted = %v, want only the valid client", v)
	}
	if got := h.serialWritten(); got != "AT\rAT\r" {
		t.Fatalf("written to serial %q", got)
	}
}
