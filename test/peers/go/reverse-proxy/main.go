// reverse-proxy: Go 1.19 net/http/httputil.ReverseProxy in front of a unix-socket
// upstream (the engine of wollomatic/socket-proxy), and a small fast upstream, for
// bench/gateway.bench.ts. Standard library only.
//
//	reverse-proxy -mode proxy -listen 127.0.0.1:0 -upstream /path/up.sock
//	reverse-proxy -mode upstream -unix /path/up.sock
//
// The proxy prints "listening HOST:PORT", the upstream "listening PATH" on stdout when ready.
// Upstream endpoints (any /vX.Y prefix): GET /_ping answers "OK"; POST /stream with
// Upgrade: tcp answers 101 and then either sends ?send=N bytes and closes, or (no send)
// holds the connection open, discarding what it reads, until the client closes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
)

func main() {
	mode := flag.String("mode", "proxy", "proxy or upstream")
	listen := flag.String("listen", "127.0.0.1:0", "proxy: TCP address to listen on")
	upstream := flag.String("upstream", "", "proxy: unix socket path of the upstream")
	unixPath := flag.String("unix", "", "upstream: unix socket path to listen on")
	flag.Parse()
	switch *mode {
	case "proxy":
		runProxy(*listen, *upstream)
	case "upstream":
		runUpstream(*unixPath)
	default:
		fmt.Fprintln(os.Stderr, "reverse-proxy: -mode is proxy or upstream")
		os.Exit(2)
	}
}

func runProxy(listen, upstream string) {
	if upstream == "" {
		fmt.Fprintln(os.Stderr, "reverse-proxy: -upstream is required")
		os.Exit(2)
	}
	target, _ := url.Parse("http://upstream")
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", upstream)
		},
		MaxIdleConns:        1000,
		MaxIdleConnsPerHost: 1000,
	}
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reverse-proxy:", err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", ln.Addr().String())
	srv := &http.Server{Handler: proxy}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "reverse-proxy:", err)
		os.Exit(1)
	}
}

var chunk = make([]byte, 256*1024)

func runUpstream(path string) {
	if path == "" {
		fmt.Fprintln(os.Stderr, "reverse-proxy: -unix is required")
		os.Exit(2)
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reverse-proxy:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if i := strings.Index(p[1:], "/"); strings.HasPrefix(p, "/v") && i > 0 {
			p = p[i+1:]
		}
		switch p {
		case "/_ping":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("OK"))
		case "/stream":
			stream(w, r)
		default:
			http.NotFound(w, r)
		}
	})
	fmt.Printf("listening %s\n", path)
	srv := &http.Server{Handler: mux}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "reverse-proxy:", err)
		os.Exit(1)
	}
}

func stream(w http.ResponseWriter, r *http.Request) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	buf.WriteString("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	buf.Flush()
	if n, err := strconv.ParseInt(r.URL.Query().Get("send"), 10, 64); err == nil && n > 0 {
		for n > 0 {
			m := int64(len(chunk))
			if n < m {
				m = n
			}
			if _, err := conn.Write(chunk[:m]); err != nil {
				return
			}
			n -= m
		}
		if c, ok := conn.(*net.UnixConn); ok {
			c.CloseWrite()
		}
		io.Copy(io.Discard, buf)
		return
	}
	io.Copy(io.Discard, buf)
}
