// hijack-client: a Go hijacking client (standard library only) that measures its own
// rate: N sequential takeovers (dial, POST with Upgrade: tcp, read the 101 head through
// net/http's response reader, half-close, wait for EOF). Prints "ops_per_sec N".
//
//	hijack-client -target unix:///path|tcp://host:port -path /bench -n 2000
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	target := flag.String("target", "", "unix:///path or tcp://host:port")
	path := flag.String("path", "/bench", "request path")
	n := flag.Int("n", 1000, "takeovers")
	flag.Parse()
	network, addr := "tcp", strings.TrimPrefix(*target, "tcp://")
	if strings.HasPrefix(*target, "unix://") {
		network, addr = "unix", strings.TrimPrefix(*target, "unix://")
	}
	one := func() error {
		conn, err := net.Dial(network, addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		req, _ := http.NewRequest("POST", "http://d"+*path, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "tcp")
		if err := req.Write(conn); err != nil {
			return err
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return err
		}
		if resp.StatusCode != 101 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		io.Copy(io.Discard, br)
		return nil
	}
	start := time.Now()
	for i := 0; i < *n; i++ {
		if err := one(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	fmt.Printf("ops_per_sec %.1f\n", float64(*n)/time.Since(start).Seconds())
}
