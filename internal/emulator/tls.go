package emulator

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
	"time"
)

// certificate is the self-signed certificate the emulator serves TLS with.
// azidentity refuses an authority host without https (GRAPH.md §11), so the
// token endpoint must be reachable over TLS; clients trust this certificate
// through CertPool or TLSConfig.
type certificate struct {
	tls  tls.Certificate
	pem  []byte
	pool *x509.CertPool
}

// newCertificate generates an ECDSA P-256 certificate for 127.0.0.1, ::1 and
// localhost. It is its own CA, so a pool holding it verifies it directly.
func newCertificate(now time.Time) (*certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Steward emulator", Organization: []string{"Steward"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(90 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &certificate{
		tls:  tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		pem:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pool: pool,
	}, nil
}

// CertPool returns a pool holding the emulator's certificate, for clients.
func (e *Emulator) CertPool() *x509.CertPool { return e.cert.pool }

// CertificatePEM returns the emulator's certificate in PEM form (for curl --cacert).
func (e *Emulator) CertificatePEM() []byte { return e.cert.pem }

// ClientTLSConfig returns a TLS configuration that trusts the emulator.
func (e *Emulator) ClientTLSConfig() *tls.Config {
	return &tls.Config{RootCAs: e.cert.pool, MinVersion: tls.VersionTLS12}
}

// serverTLSConfig is what the TLS listener serves. HTTP/1.1 only: the
// connection-level faults (reset, truncated body) need a connection per
// request stream, and nothing in Steward depends on HTTP/2.
func (e *Emulator) serverTLSConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{e.cert.tls}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
}
