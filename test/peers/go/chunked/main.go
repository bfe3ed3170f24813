// Command chunked reads chunked request bodies exactly as Go's net/http server does, for
// the differential test of the gateway's decoder (test/http1/chunked.test.ts).
//
// Input: one base64 line per case, the bytes after a request head that says
// `Transfer-Encoding: chunked`. Output: one JSON line per case:
// {"ok":true,"data":"<base64>","rest":N} (N bytes left after the body) or {"ok":false}.
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
)

type result struct {
	OK   bool   `json:"ok"`
	Data string `json:"data,omitempty"`
	Rest int    `json:"rest"`
	Err  string `json:"err,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	head := []byte("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	for in.Scan() {
		body, err := base64.StdEncoding.DecodeString(in.Text())
		if err != nil {
			enc.Encode(result{Err: "bad input"})
			continue
		}
		src := bytes.NewReader(append(append([]byte{}, head...), body...))
		br := bufio.NewReader(src)
		req, err := http.ReadRequest(br)
		if err != nil {
			enc.Encode(result{Err: err.Error()})
			continue
		}
		data, err := io.ReadAll(req.Body)
		if err != nil {
			enc.Encode(result{Err: err.Error()})
			continue
		}
		enc.Encode(result{OK: true, Data: base64.StdEncoding.EncodeToString(data), Rest: br.Buffered() + src.Len()})
	}
	out.Flush()
}
