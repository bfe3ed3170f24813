// upgrade-client: a Go (standard library only) client that takes an HTTP/1.1 connection
// over with `Upgrade: tcp`, as Docker's client does, and reports what it saw as JSON.
//
// It writes the request head and -early bytes in ONE write, reads the 101 with
// net/http's response reader (leftover bytes stay in the bufio.Reader and are read first),
// then runs a scenario:
//
//	client-first: send -size pattern bytes, CloseWrite, read until EOF.
//	server-first: read until EOF (the server half-closed), then send -after, CloseWrite.
//
// Output: {"status":101,"upgrade":"tcp","received":"<base64>","sent":N,"error":""}
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

type report struct {
	Status   int    `json:"status"`
	Upgrade  string `json:"upgrade"`
	Received string `json:"received"`
	Sent     int    `json:"sent"`
	Error    string `json:"error"`
}

// Pattern returns n bytes of a fixed, non-repeating-at-small-periods pattern.
func Pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*7 + 3) % 251)
	}
	return b
}

func main() {
	addr := flag.String("addr", "", "TCP address host:port")
	unixPath := flag.String("unix", "", "unix socket path (instead of -addr)")
	path := flag.String("path", "/takeover", "request path")
	early := flag.String("early", "", "bytes sent in the same write as the request head")
	scenario := flag.String("scenario", "client-first", "client-first or server-first")
	size := flag.Int("size", 0, "client-first: pattern bytes sent after the 101")
	after := flag.String("after", "", "server-first: bytes sent after seeing the server's EOF")
	timeout := flag.Duration("timeout", 10*time.Second, "overall deadline")
	flag.Parse()

	rep := report{}
	out := func() {
		enc := json.NewEncoder(os.Stdout)
		_ = enc.Encode(rep)
	}
	fail := func(err error) {
		rep.Error = err.Error()
		out()
		os.Exit(1)
	}

	var conn net.Conn
	var err error
	if *unixPath != "" {
		conn, err = net.Dial("unix", *unixPath)
	} else {
		conn, err = net.Dial("tcp", *addr)
	}
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(*timeout))

	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: peer\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n%s", *path, *early)
	if _, err := conn.Write([]byte(head)); err != nil {
		fail(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		fail(err)
	}
	rep.Status = resp.StatusCode
	rep.Upgrade = resp.Header.Get("Upgrade")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		fail(fmt.Errorf("expected 101, got %s", resp.Status))
	}
	cw, ok := conn.(interface{ CloseWrite() error })
	if !ok {
		fail(fmt.Errorf("connection has no CloseWrite"))
	}

	switch *scenario {
	case "client-first":
		errc := make(chan error, 1)
		go func() {
			data := Pattern(*size)
			_, err := conn.Write(data)
			rep.Sent = len(data)
			if err == nil {
				err = cw.CloseWrite()
			}
			errc <- err
		}()
		got, err := io.ReadAll(br)
		rep.Received = base64.StdEncoding.EncodeToString(got)
		if werr := <-errc; werr != nil {
			fail(werr)
		}
		if err != nil {
			fail(err)
		}
	case "server-first":
		got, err := io.ReadAll(br)
		rep.Received = base64.StdEncoding.EncodeToString(got)
		if err != nil {
			fail(err)
		}
		if _, err := conn.Write([]byte(*after)); err != nil {
			fail(fmt.Errorf("write after the server's EOF: %w", err))
		}
		rep.Sent = len(*after)
		if err := cw.CloseWrite(); err != nil {
			fail(err)
		}
		// The server closes once it has read our bytes; wait for that (EOF or reset).
		_, _ = io.Copy(io.Discard, br)
	default:
		fail(fmt.Errorf("unknown scenario %q", *scenario))
	}
	out()
}
