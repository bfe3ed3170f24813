// Command oracle is the differential harness's upstream: a Go standard-library net/http
// server (the parser dockerd uses) that prints one JSON line per request it parsed:
// method, request URI, body length (-1 when reading the body failed). Upgrade requests
// are answered 101 and closed; everything else 200.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

type record struct {
	Method string `json:"m"`
	URI    string `json:"uri"`
	Len    int64  `json:"len"`
}

func main() {
	unix := flag.String("unix", "", "unix socket path")
	flag.Parse()
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	emit := func(r record) {
		mu.Lock()
		enc.Encode(r)
		out.Flush()
		mu.Unlock()
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upgrade := r.Header.Get("Upgrade") != "" &&
			strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			n = -1
		}
		emit(record{Method: r.Method, URI: r.RequestURI, Len: n})
		if upgrade {
			if hj, ok := w.(http.Hijacker); ok {
				c, _, err := hj.Hijack()
				if err == nil {
					c.Write([]byte("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: " + r.Header.Get("Upgrade") + "\r\n\r\n"))
					c.SetDeadline(time.Now().Add(100 * time.Millisecond))
					io.Copy(io.Discard, c)
					c.Close()
					return
				}
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok"))
	})
	l, err := net.Listen("unix", *unix)
	if err != nil {
		panic(err)
	}
	os.Stderr.WriteString("listening\n")
	http.Serve(l, h)
}
