package relaytls_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/relaytls"
	"github.com/sim-modem-api/sim-modem-api/modem/relaytls/relaytlstest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// handshake runs a mutual TLS exchange over real TCP: the client says
// "ping", the server answers "pong". It returns the server's and the
// client's error.
func handshake(t *testing.T, server, client *tls.Config) (serr, cerr error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := c.(*tls.Conn).Handshake(); err != nil {
			done <- err
			return
		}
		b := make([]byte, 4)
		if _, err := io.ReadFull(c, b); err != nil {
			done <- err
			return
		}
		_, err = c.Write([]byte("pong"))
		done <- err
	}()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), client)
	if err == nil {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err = c.Write([]byte("ping")); err == nil {
			b := make([]byte, 4)
			_, err = io.ReadFull(c, b)
			if err == nil && string(b) != "pong" {
				err = errors.New("got " + string(b))
			}
		}
	}
	return <-done, err
}

func TestMutualTLS(t *testing.T) {
	s := relaytlstest.NewSet(t)
	server, err := relaytls.Server(s.ServerCert, s.ServerKey, s.CA.File)
	if err != nil {
		t.Fatal(err)
	}
	if server.MinVersion != tls.VersionTLS12 || server.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("server config: min version %x, client auth %v", server.MinVersion, server.ClientAuth)
	}
	good, err := relaytls.Client(s.CA.File, s.ClientCert, s.ClientKey, "")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("valid client", func(t *testing.T) {
		if serr, cerr := handshake(t, server, good); serr != nil || cerr != nil {
			t.Fatalf("server %v, client %v", serr, cerr)
		}
	})
	t.Run("valid client by name", func(t *testing.T) {
		byName, err := relaytls.Client(s.CA.File, s.ClientCert, s.ClientKey, "localhost")
		if err != nil {
			t.Fatal(err)
		}
		if serr, cerr := handshake(t, server, byName); serr != nil || cerr != nil {
			t.Fatalf("server %v, client %v", serr, cerr)
		}
	})
	t.Run("TLS 1.2 client", func(t *testing.T) {
		c := good.Clone()
		c.MaxVersion = tls.VersionTLS12
		if serr, cerr := handshake(t, server, c); serr != nil || cerr != nil {
			t.Fatalf("server %v, client %v", serr, cerr)
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		c := good.Clone()
		c.Certificates = nil
		serr, cerr := handshake(t, server, c)
		if serr == nil || !strings.Contains(serr.Error(), "certificate") || cerr == nil {
			t.Fatalf("server %v, client %v; want both to fail", serr, cerr)
		}
	})
	t.Run("client certificate of another CA", func(t *testing.T) {
		other, err := relaytls.Client(s.CA.File, s.OtherCert, s.OtherKey, "")
		if err != nil {
			t.Fatal(err)
		}
		serr, cerr := handshake(t, server, relaytlstest.AlwaysPresent(other))
		var ve *tls.CertificateVerificationError
		if !errors.As(serr, &ve) || cerr == nil {
			t.Fatalf("server %v, client %v; want a verification failure", serr, cerr)
		}
	})
	t.Run("client certificate of another CA, not presented", func(t *testing.T) {
		// Go's client keeps a certificate the server's CAs did not sign.
		other, err := relaytls.Client(s.CA.File, s.OtherCert, s.OtherKey, "")
		if err != nil {
			t.Fatal(err)
		}
		serr, cerr := handshake(t, server, other)
		if serr == nil || !strings.Contains(serr.Error(), "didn't provide a certificate") || cerr == nil {
			t.Fatalf("server %v, client %v; want no certificate", serr, cerr)
		}
	})
	t.Run("relay certificate of another CA", func(t *testing.T) {
		c, err := relaytls.Client(s.OtherCA.File, s.ClientCert, s.ClientKey, "")
		if err != nil {
			t.Fatal(err)
		}
		_, cerr := handshake(t, server, c)
		var ve *tls.CertificateVerificationError
		if !errors.As(cerr, &ve) {
			t.Fatalf("client %v; want a verification failure", cerr)
		}
	})
	t.Run("wrong server name", func(t *testing.T) {
		c, err := relaytls.Client(s.CA.File, s.ClientCert, s.ClientKey, "modem-pi.example")
		if err != nil {
			t.Fatal(err)
		}
		_, cerr := handshake(t, server, c)
		if cerr == nil || !strings.Contains(cerr.Error(), "modem-pi.example") {
			t.Fatalf("client %v; want a name mismatch", cerr)
		}
	})
	t.Run("TLS 1.1 client", func(t *testing.T) {
		c := good.Clone()
		c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		if serr, cerr := handshake(t, server, c); serr == nil || cerr == nil {
			t.Fatalf("server %v, client %v; want both to fail", serr, cerr)
		}
	})
}

func TestErrorsNameTheFile(t *testing.T) {
	s := relaytlstest.NewSet(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.crt")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  func() error
		want []string
	}{
		{"server cert missing", func() error { _, err := relaytls.Server(missing, s.ServerKey, s.CA.File); return err },
			[]string{"server certificate", missing, "no such file"}},
		{"server key missing", func() error { _, err := relaytls.Server(s.ServerCert, missing, s.CA.File); return err },
			[]string{"server key", missing}},
		{"client CA missing", func() error { _, err := relaytls.Server(s.ServerCert, s.ServerKey, missing); return err },
			[]string{"client CA certificate", missing}},
		{"client CA not PEM", func() error { _, err := relaytls.Server(s.ServerCert, s.ServerKey, garbage); return err },
			[]string{"client CA certificate", garbage, "no PEM block of type CERTIFICATE"}},
		{"key is a certificate", func() error { _, err := relaytls.Server(s.ServerCert, s.ServerCert, s.CA.File); return err },
			[]string{"server key", s.ServerCert, "PRIVATE KEY"}},
		{"key does not match", func() error { _, err := relaytls.Server(s.ServerCert, s.ClientKey, s.CA.File); return err },
			[]string{"server certificate", s.ServerCert, s.ClientKey}},
		{"server cert not given", func() error { _, err := relaytls.Server("", s.ServerKey, s.CA.File); return err },
			[]string{"server certificate: no file given"}},
		{"CA missing", func() error { _, err := relaytls.Client(missing, s.ClientCert, s.ClientKey, ""); return err },
			[]string{"CA certificate", missing}},
		{"client key not given", func() error { _, err := relaytls.Client(s.CA.File, s.ClientCert, "", ""); return err },
			[]string{"client key: no file given"}},
		{"client cert garbage", func() error { _, err := relaytls.Client(s.CA.File, garbage, s.ClientKey, ""); return err },
			[]string{"client certificate", garbage}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
