// reverse-proxy: Go 1.19 net/http/httputil.ReverseProxy in front of a unix-socket
// upstream, the engine of wollomatic/socket-proxy, for bench/gateway.bench.ts.
//
//	reverse-proxy -listen 127.0.0.1:0 -upstream /path/to/upstream.sock
//
// Prints "listening HOST:PORT" on stdout once it accepts connections.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on")
	upstream := flag.String("upstream", "", "unix socket path of the upstream")
	flag.Parse()
	if *upstream == "" {
		fmt.Fprintln(os.Stderr, "reverse-proxy: -upstream is required")
		os.Exit(2)
	}
	target, _ := url.Parse("http://upstream")
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", *upstream)
		},
		MaxIdleConns:        1000,
		MaxIdleConnsPerHost: 1000,
	}
	proxy.ErrorLog = log.New(os.Stderr, "reverse-proxy: ", 0)
	ln, err := net.Listen("tcp", *listen)
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
