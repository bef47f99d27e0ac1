// Package relaytlstest makes certificates for tests of mutual TLS between
// the api and the relay: a CA, server and client certificates it signs,
// written as PEM files into a test's directory. Keys are fresh ECDSA P-256
// keys made by each test; none is ever committed.
package relaytlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority for tests.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// File is the CA certificate's PEM file.
	File string
	dir  string
	name string
}

// NewCA makes a CA named name and writes its certificate to dir/name.crt.
func NewCA(t testing.TB, dir, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("relaytlstest: create CA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("relaytlstest: parse CA: %v", err)
	}
	ca := &CA{Cert: cert, Key: key, dir: dir, name: name}
	ca.File = filepath.Join(dir, name+".crt")
	writePEM(t, ca.File, "CERTIFICATE", der, 0o644)
	return ca
}

// Server issues a server certificate for hosts (DNS names or IP
// addresses) and writes it and its key to dir/<name>.crt and .key.
func (ca *CA) Server(t testing.TB, name string, hosts ...string) (certFile, keyFile string) {
	t.Helper()
	return ca.issue(t, name, x509.ExtKeyUsageServerAuth, hosts)
}

// Client issues a client certificate with common name name and writes it
// and its key to dir/<name>.crt and .key.
func (ca *CA) Client(t testing.TB, name string) (certFile, keyFile string) {
	t.Helper()
	return ca.issue(t, name, x509.ExtKeyUsageClientAuth, nil)
}

func (ca *CA) issue(t testing.TB, name string, usage x509.ExtKeyUsage, hosts []string) (string, string) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatalf("relaytlstest: issue %s: %v", name, err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("relaytlstest: marshal key of %s: %v", name, err)
	}
	certFile := filepath.Join(ca.dir, name+".crt")
	keyFile := filepath.Join(ca.dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der, 0o644)
	writePEM(t, keyFile, "PRIVATE KEY", kder, 0o600)
	return certFile, keyFile
}

// Set is what a test of relay TLS usually needs, in one directory: a CA
// that signed the relay's certificate (for 127.0.0.1 and localhost) and a
// valid client certificate, and a client certificate from another CA.
type Set struct {
	CA                    *CA
	ServerCert, ServerKey string
	ClientCert, ClientKey string
	OtherCert, OtherKey   string // signed by another CA: must be refused
	OtherCA               *CA
}

// NewSet makes a Set in a fresh temporary directory of t.
func NewSet(t testing.TB) *Set {
	t.Helper()
	dir := t.TempDir()
	s := &Set{CA: NewCA(t, dir, "relay-ca"), OtherCA: NewCA(t, dir, "other-ca")}
	s.ServerCert, s.ServerKey = s.CA.Server(t, "relay", "127.0.0.1", "::1", "localhost")
	s.ClientCert, s.ClientKey = s.CA.Client(t, "api")
	s.OtherCert, s.OtherKey = s.OtherCA.Client(t, "intruder")
	return s
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("relaytlstest: key: %v", err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatalf("relaytlstest: serial: %v", err)
	}
	return n
}

func writePEM(t testing.TB, path, typ string, der []byte, mode os.FileMode) {
	t.Helper()
	b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatalf("relaytlstest: %v", err)
	}
}

// AlwaysPresent returns a copy of cfg whose client presents its
// certificate even when the server asks for one from other CAs. Go's
// client otherwise sends none to a server whose acceptable CAs do not
// include its issuer, and the server sees no certificate at all instead
// of a bad one.
func AlwaysPresent(cfg *tls.Config) *tls.Config {
	c := cfg.Clone()
	cert := c.Certificates[0]
	c.Certificates = nil
	c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	return c
}
