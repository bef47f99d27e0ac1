// Package relaytls loads the TLS configurations of a relay that listens
// with mutual TLS and of the api that connects to it, from PEM files, with
// the standard library only. The relay presents its server certificate and
// requires a client certificate signed by its client CA; the api verifies
// the relay's certificate against its CA and presents its own. TLS 1.2 is
// the minimum on both sides.
//
// Every error names the file (and the setting's role) that is missing or
// bad, so that a service stops at start with a clear message.
package relaytls

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// MinVersion is the lowest TLS version either side accepts.
const MinVersion = tls.VersionTLS12

// Server returns the relay's configuration: it presents the certificate in
// certFile (PEM, with any intermediates after it) with the private key in
// keyFile, and requires and verifies a client certificate against the CA
// certificates in clientCAFile.
func Server(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := loadPair("server", certFile, keyFile)
	if err != nil {
		return nil, err
	}
	pool, err := loadPool("client CA", clientCAFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   MinVersion,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, nil
}

// Client returns the api's configuration: it verifies the relay's
// certificate against the CA certificates in caFile and presents the
// certificate in certFile with the key in keyFile. serverName, if not
// empty, is the name (or IP address) the relay's certificate must carry;
// empty means the host of the address dialled.
func Client(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	pool, err := loadPool("CA", caFile)
	if err != nil {
		return nil, err
	}
	cert, err := loadPair("client", certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   MinVersion,
		RootCAs:      pool,
		Certificates: []tls.Certificate{cert},
		ServerName:   serverName,
	}, nil
}

// loadPair loads a certificate and its key; role names them in errors.
func loadPair(role, certFile, keyFile string) (tls.Certificate, error) {
	if certFile == "" {
		return tls.Certificate{}, fmt.Errorf("%s certificate: no file given", role)
	}
	if keyFile == "" {
		return tls.Certificate{}, fmt.Errorf("%s key: no file given", role)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s certificate: %w", role, err)
	}
	if err := checkPEM(certPEM, "CERTIFICATE"); err != nil {
		return tls.Certificate{}, fmt.Errorf("%s certificate %s: %w", role, certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s key: %w", role, err)
	}
	if err := checkPEM(keyPEM, "PRIVATE KEY"); err != nil {
		return tls.Certificate{}, fmt.Errorf("%s key %s: %w", role, keyFile, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s certificate %s with key %s: %w", role, certFile, keyFile, err)
	}
	return cert, nil
}

// loadPool loads the CA certificates in file.
func loadPool(role, file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, fmt.Errorf("%s certificate: no file given", role)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s certificate: %w", role, err)
	}
	if err := checkPEM(b, "CERTIFICATE"); err != nil {
		return nil, fmt.Errorf("%s certificate %s: %w", role, file, err)
	}
	pool := x509.NewCertPool()
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s certificate %s: %w", role, file, err)
		}
		pool.AddCert(c)
	}
	return pool, nil
}

// checkPEM reports an error unless b holds a PEM block whose type ends in
// want ("CERTIFICATE", or "PRIVATE KEY" for PKCS #8, RSA and EC keys).
func checkPEM(b []byte, want string) error {
	found := false
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if len(blk.Type) >= len(want) && blk.Type[len(blk.Type)-len(want):] == want {
			found = true
			break
		}
	}
	if !found {
		return errors.New("no PEM block of type " + want + " found")
	}
	return nil
}
