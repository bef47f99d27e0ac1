package main

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/relaytls"
	"github.com/sim-modem-api/sim-modem-api/modem/relaytls/relaytlstest"
	"github.com/sim-modem-api/sim-modem-api/simulator/ptylink"
)

func TestTLSBadConfigStopsAtStart(t *testing.T) {
	set := relaytlstest.NewSet(t)
	missing := filepath.Join(t.TempDir(), "relay.crt")
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"one of three", []string{"-tls-cert", set.ServerCert}, nil,
			[]string{"missing -tls-key (env RELAY_TLS_KEY)", "missing -tls-client-ca (env RELAY_TLS_CLIENT_CA)"}},
		{"missing file", nil, []string{"RELAY_TLS_CERT=" + missing, "RELAY_TLS_KEY=" + set.ServerKey, "RELAY_TLS_CLIENT_CA=" + set.CA.File},
			[]string{"relay: invalid TLS configuration: server certificate: open " + missing + ": no such file or directory"}},
		{"key of another certificate", []string{"-tls-cert", set.ServerCert, "-tls-key", set.ClientKey, "-tls-client-ca", set.CA.File}, nil,
			[]string{"relay: invalid TLS configuration: server certificate " + set.ServerCert + " with key " + set.ClientKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, tc.args...)
			cmd.Env = append(cmd.Environ(), tc.env...)
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want 2; output %s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestTLSBinary drives the built relay with mutual TLS: a valid client's
// bytes both ways, a client without a certificate refused, logged and
// counted, and the shutdown message over TLS.
func TestTLSBinary(t *testing.T) {
	set := relaytlstest.NewSet(t)
	link := filepath.Join(t.TempDir(), "ttyUSB2")
	modem, err := ptylink.Open(link)
	if err != nil {
		t.Fatal(err)
	}
	defer modem.Close()
	p := startBinary(t, link, "RELAY_TLS_CERT="+set.ServerCert, "RELAY_TLS_KEY="+set.ServerKey, "RELAY_TLS_CLIENT_CA="+set.CA.File)
	p.waitLine(t, "Serial device opened successfully")

	client, err := relaytls.Client(set.CA.File, set.ClientCert, set.ClientKey, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", p.relay, client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	relayAT(t, p, c, modem)

	// Without a certificate: refused at the handshake, logged, counted.
	raw, err := net.Dial("tcp", p.relay)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	noCert := client.Clone()
	noCert.Certificates = nil
	noCert.ServerName = "127.0.0.1"
	bad := tls.Client(raw, noCert)
	_ = bad.SetDeadline(time.Now().Add(10 * time.Second))
	if err := bad.Handshake(); err == nil {
		if n, err := bad.Read(make([]byte, 1)); err == nil {
			t.Fatalf("client without a certificate read %d bytes", n)
		}
	}
	p.waitLine(t, "Rejected the client socket "+raw.LocalAddr().String()+": the TLS handshake failed (no_certificate): tls: client didn't provide a certificate")
	resp, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `relay_tls_handshake_failures_total{reason="no_certificate"} 1`) {
		t.Fatalf("/metrics lacks the failure:\n%s", body)
	}

	stopWithClient(t, p, c)
}
