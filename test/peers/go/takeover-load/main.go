// takeover-load: a fixed-concurrency, fixed-duration load client (standard library only)
// for takeover rates. Each operation: connect, send an `Upgrade: echo` request, read the
// 101 head, send one byte, read its echo, close. The same client measures every server,
// so the servers are compared and not the clients.
//
// Output: {"ops":N,"errors":N,"seconds":S,"rate":R,"firstError":""}
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

var request = []byte("GET /takeover HTTP/1.1\r\nHost: bench\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")

// once runs one takeover; buf is the goroutine's scratch buffer.
func once(addr string, buf []byte) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	// An abortive close (RST): no TIME_WAIT on the client, whose ephemeral ports would
	// otherwise run out after ~28,000 takeovers and cap every server at the client's
	// port-search speed instead of measuring the server.
	_ = c.(*net.TCPConn).SetLinger(0)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(request); err != nil {
		return err
	}
	n := 0
	for {
		m, err := c.Read(buf[n:])
		if err != nil {
			return fmt.Errorf("reading the 101: %w", err)
		}
		n += m
		if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 {
			if !bytes.HasPrefix(buf, []byte("HTTP/1.1 101 ")) {
				return fmt.Errorf("not a 101: %q", buf[:i])
			}
			if n != i+4 {
				return fmt.Errorf("bytes after the 101 before the echo")
			}
			break
		}
		if n == len(buf) {
			return fmt.Errorf("101 head too large")
		}
	}
	if _, err := c.Write([]byte{'x'}); err != nil {
		return err
	}
	if _, err := c.Read(buf[:1]); err != nil || buf[0] != 'x' {
		return fmt.Errorf("echo: %v %q", err, buf[:1])
	}
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server address")
	conc := flag.Int("c", 16, "concurrent connections")
	dur := flag.Duration("d", 5*time.Second, "duration")
	flag.Parse()

	var ops, errs int64
	var firstErr atomic.Value
	stop := time.Now().Add(*dur)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < *conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4096)
			for time.Now().Before(stop) {
				if err := once(*addr, buf); err != nil {
					atomic.AddInt64(&errs, 1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				atomic.AddInt64(&ops, 1)
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	fe, _ := firstErr.Load().(string)
	_ = json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"ops": ops, "errors": errs, "seconds": secs, "rate": float64(ops) / secs, "firstError": fe,
	})
}
