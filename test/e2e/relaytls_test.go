//go:build linux

package e2e

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/relaytls"
	"github.com/sim-modem-api/sim-modem-api/modem/relaytls/relaytlstest"
	"github.com/sim-modem-api/sim-modem-api/modem/relaywire"
)

// TestRelayOverMutualTLS runs the relay with mutual TLS and the api with
// its client certificate (API_RELAY_TLS_*): an SMS goes through to the
// modem; a plain TCP client and clients with a certificate from another CA
// or none are refused at the handshake and logged by the relay; a second
// valid client gets the original's one-client refusal while the api stays
// in control.
func TestRelayOverMutualTLS(t *testing.T) {
	set := relaytlstest.NewSet(t)
	s := newStack(t, stackOpts{
		relayEnv: []string{"RELAY_TLS_CERT=" + set.ServerCert, "RELAY_TLS_KEY=" + set.ServerKey, "RELAY_TLS_CLIENT_CA=" + set.CA.File},
		apiEnv:   []string{"API_RELAY_TLS_CA=" + set.CA.File, "API_RELAY_TLS_CERT=" + set.ClientCert, "API_RELAY_TLS_KEY=" + set.ClientKey},
	})
	waitRelayLog(t, s, "over mutual TLS")

	send := func(text string) {
		t.Helper()
		var r smsResp
		if code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":`+jsonString(text)+`}`, &r); code != 200 || r.PartCount != 1 {
			t.Fatalf("send: %d %+v", code, r)
		}
		sent := s.sent()
		if got := sent[len(sent)-1]; got.Text != text || got.Recipient != "+436601234567" {
			t.Fatalf("simulator received %q for %s, want %q", got.Text, got.Recipient, text)
		}
	}
	send("Hello over mutual TLS")

	// Clients the relay must refuse at the handshake.
	plain, err := net.Dial("tcp", s.relayAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_, _ = plain.Write([]byte(relaywire.DefaultSentinel + "AT+CFUN=0\r"))
	expectRefused(t, plain)
	waitRelayLog(t, s, "Rejected the client socket "+plain.LocalAddr().String()+": the TLS handshake failed (not_tls)")

	valid, err := relaytls.Client(set.CA.File, set.ClientCert, set.ClientKey, "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := relaytls.Client(set.CA.File, set.OtherCert, set.OtherKey, "")
	if err != nil {
		t.Fatal(err)
	}
	noCert := valid.Clone()
	noCert.Certificates = nil
	for _, tc := range []struct {
		name   string
		cfg    *tls.Config
		reason string
	}{
		{"certificate of another CA", relaytlstest.AlwaysPresent(other), "bad_certificate"},
		{"no certificate", noCert, "no_certificate"},
	} {
		raw, c := dialTLS(t, s.relayAddr, tc.cfg)
		_, _ = c.Write([]byte(relaywire.DefaultSentinel + "AT+CFUN=0\r"))
		expectRefused(t, c)
		waitRelayLog(t, s, "Rejected the client socket "+raw.LocalAddr().String()+": the TLS handshake failed ("+tc.reason+")")
	}

	// A valid certificate does not get around the one-client rule.
	raw, second := dialTLS(t, s.relayAddr, valid)
	_, _ = second.Write([]byte(relaywire.DefaultSentinel + "AT+CFUN=0\r"))
	_ = second.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(second)
	if err != nil || string(got) != relaywire.MsgAlreadyInControl {
		t.Fatalf("second client got %q, %v; want %q", got, err, relaywire.MsgAlreadyInControl)
	}
	waitRelayLog(t, s, "Rejected the client socket "+raw.LocalAddr().String()+": there's already a client in control")

	// None of them disturbed the api's session or reached the modem.
	send("Still in control")
	for _, e := range s.transcript() {
		if strings.Contains(e.Command, "CFUN=0") {
			t.Fatalf("a refused client's command reached the modem: %q", e.Command)
		}
	}
	_, body := s.raw("GET", "http://"+s.relayM+"/metrics", "", "")
	for _, want := range []string{
		`relay_tls_handshake_failures_total{reason="not_tls"} 1`,
		`relay_tls_handshake_failures_total{reason="bad_certificate"} 1`,
		`relay_tls_handshake_failures_total{reason="no_certificate"} 1`,
		`relay_connections_rejected_total{reason="client_in_control"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("relay metrics lack %s", want)
		}
	}
}

// dialTLS opens a TCP connection to addr and starts TLS on it with cfg; it
// returns both, the raw one for its address.
func dialTLS(t *testing.T, addr string, cfg *tls.Config) (net.Conn, *tls.Conn) {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	cfg = cfg.Clone()
	cfg.ServerName = "127.0.0.1"
	return raw, tls.Client(raw, cfg)
}

// expectRefused checks that the relay closes c without sending it a byte.
func expectRefused(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if len(b) > 0 {
		t.Fatalf("refused client read %q", b)
	}
	if err != nil && strings.Contains(err.Error(), "timeout") {
		t.Fatalf("refused client still connected: %v", err)
	}
}

// waitRelayLog waits for a line of the relay's log containing want.
func waitRelayLog(t *testing.T, s *stack, want string) {
	t.Helper()
	waitFor(t, "the relay to log "+want, func() bool { return strings.Contains(s.relay.stdout(), want) })
}
