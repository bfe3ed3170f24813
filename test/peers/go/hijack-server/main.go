// hijack-server: a Go net/http server (standard library only) whose handlers hijack the
// connection the way dockerd does, for tests and benchmarks of the hijack client.
//
//	hijack-server -listen unix:///tmp/x.sock | tcp://127.0.0.1:0 [-tls DIR]
//
// Prints "listening ADDR" on stdout when ready. With -tls DIR it generates a CA, a server
// certificate for 127.0.0.1/localhost and a client certificate into DIR (ca.pem,
// client.pem, client-key.pem) and requires a client certificate signed by that CA.
//
// Routes (any method):
//
//	/echo    101 (or 200 raw-stream without Upgrade), echoes until EOF, then writes
//	         "bye\n" after the client's half-close, then closes.
//	/split   like /echo, but the head is written in two writes split inside a header and
//	         the first stream bytes ("early") go in the same write as the end of the head.
//	/bench   101, then waits for EOF and closes.
//	/refuse  500 with a Docker-style JSON {"message": ...}.
//	/proto   101 with Upgrade: h2c (not what was asked).
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func head(r *http.Request) string {
	if strings.EqualFold(r.Header.Get("Upgrade"), "") {
		return "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
	}
	return "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: " + r.Header.Get("Upgrade") + "\r\n\r\n"
}

type closeWriter interface{ CloseWrite() error }

func closeWrite(c net.Conn) {
	if cw, ok := c.(closeWriter); ok {
		cw.CloseWrite()
	}
}

func takeover(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter) {
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	return conn, rw
}

func echo(conn net.Conn, rw *bufio.ReadWriter) {
	defer conn.Close()
	// Read through rw.Reader: it may hold bytes the client sent early.
	io.Copy(conn, rw.Reader)
	conn.Write([]byte("bye\n"))
	closeWrite(conn)
	io.Copy(io.Discard, conn)
}

func main() {
	listen := flag.String("listen", "tcp://127.0.0.1:0", "unix:///path or tcp://host:port")
	tlsDir := flag.String("tls", "", "generate certificates into DIR and serve TLS with client auth")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, rw := takeover(w)
		rw.WriteString(head(r))
		rw.Flush()
		echo(conn, rw)
	})
	mux.HandleFunc("/split", func(w http.ResponseWriter, r *http.Request) {
		conn, rw := takeover(w)
		h := head(r)
		cut := strings.Index(h, "Content-Type: ") + 9
		conn.Write([]byte(h[:cut]))
		time.Sleep(20 * time.Millisecond)
		conn.Write([]byte(h[cut:] + "early"))
		echo(conn, rw)
	})
	mux.HandleFunc("/bench", func(w http.ResponseWriter, r *http.Request) {
		conn, _ := takeover(w)
		conn.Write([]byte(head(r)))
		io.Copy(io.Discard, conn)
		conn.Close()
	})
	mux.HandleFunc("/refuse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		fmt.Fprint(w, `{"message":"No such exec instance: abc"}`)
	})
	mux.HandleFunc("/proto", func(w http.ResponseWriter, r *http.Request) {
		conn, _ := takeover(w)
		conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"))
		conn.Close()
	})

	var ln net.Listener
	var err error
	if strings.HasPrefix(*listen, "unix://") {
		path := strings.TrimPrefix(*listen, "unix://")
		os.Remove(path)
		ln, err = net.Listen("unix", path)
	} else {
		ln, err = net.Listen("tcp", strings.TrimPrefix(*listen, "tcp://"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *tlsDir != "" {
		ln = tls.NewListener(ln, makeTLS(*tlsDir))
	}
	fmt.Printf("listening %s\n", ln.Addr().String())
	srv := &http.Server{Handler: mux}
	go func() {
		// Exit when the parent closes our stdin.
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	srv.Serve(ln)
}

func writePEM(path, kind string, der []byte) {
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	pem.Encode(f, &pem.Block{Type: kind, Bytes: der})
	f.Close()
}

func makeTLS(dir string) *tls.Config {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hijack test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, _ := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
		return der, key
	}
	srvDER, srvKey := leaf(2, "localhost", x509.ExtKeyUsageServerAuth)
	cliDER, cliKey := leaf(3, "hijack-client", x509.ExtKeyUsageClientAuth)
	writePEM(filepath.Join(dir, "ca.pem"), "CERTIFICATE", caDER)
	writePEM(filepath.Join(dir, "client.pem"), "CERTIFICATE", cliDER)
	k, _ := x509.MarshalECPrivateKey(cliKey)
	writePEM(filepath.Join(dir, "client-key.pem"), "EC PRIVATE KEY", k)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		NextProtos:   []string{"http/1.1"},
	}
}
