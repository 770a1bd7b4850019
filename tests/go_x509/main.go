// Command go_x509 parses PEM certificate requests and certificates with
// Go's crypto/x509, which rejects strings that do not fit their ASN.1
// type, checks each self-signature, and prints one JSON line per file.
package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
)

type result struct {
	File      string   `json:"file"`
	Kind      string   `json:"kind"`
	Error     string   `json:"error,omitempty"`
	Subject   string   `json:"subject,omitempty"`
	DNSNames  []string `json:"dnsNames,omitempty"`
	Emails    []string `json:"emails,omitempty"`
	IPs       []string `json:"ips,omitempty"`
	URIs      []string `json:"uris,omitempty"`
	Algorithm string   `json:"algorithm,omitempty"`
}

func check(path string) result {
	out := result{File: path}
	data, err := os.ReadFile(path)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	block, _ := pem.Decode(data)
	if block == nil {
		out.Error = "no PEM block"
		return out
	}
	out.Kind = block.Type
	switch block.Type {
	case "CERTIFICATE REQUEST":
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			out.Error = err.Error()
			return out
		}
		if err := csr.CheckSignature(); err != nil {
			out.Error = err.Error()
			return out
		}
		out.Subject = csr.Subject.String()
		out.DNSNames = csr.DNSNames
		out.Emails = csr.EmailAddresses
		for _, ip := range csr.IPAddresses {
			out.IPs = append(out.IPs, ip.String())
		}
		for _, uri := range csr.URIs {
			out.URIs = append(out.URIs, uri.String())
		}
		out.Algorithm = csr.SignatureAlgorithm.String()
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			out.Error = err.Error()
			return out
		}
		// A self-signed leaf is no CA, so check the signature itself rather
		// than CheckSignatureFrom, which requires a CA parent.
		err = cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature)
		if err != nil {
			out.Error = err.Error()
			return out
		}
		out.Subject = cert.Subject.String()
		out.DNSNames = cert.DNSNames
		out.Algorithm = cert.SignatureAlgorithm.String()
	default:
		out.Error = "unexpected PEM type " + block.Type
	}
	return out
}

func main() {
	encoder := json.NewEncoder(os.Stdout)
	for _, path := range os.Args[1:] {
		if err := encoder.Encode(check(path)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
