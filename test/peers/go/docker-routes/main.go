// docker-routes: registers the route templates given in the file named by argv[1]
// ("METHOD TEMPLATE" per line, METHOD * = any) on a gorilla/mux router exactly as
// dockerd 20.10's createMux does (versioned then plain per route, debug routes without
// methods, versioned catch-all last), then for each stdin line "METHOD HEXPATH" prints
// a JSON answer: {"m":method,"t":template,"v":vars} or {"none":true}.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/gorilla/mux"
)

type entry struct{ m, t string }

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	const versionMatcher = "/v{version:[0-9.]+}"
	r := mux.NewRouter()
	routes := map[*mux.Route]entry{}
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, " ", 2)
		e := entry{f[0], f[1]}
		if e.m == "*" {
			routes[r.Path(e.t).Handler(noop)] = e
			continue
		}
		routes[r.Path(versionMatcher+e.t).Methods(e.m).Handler(noop)] = e
		routes[r.Path(e.t).Methods(e.m).Handler(noop)] = e
	}
	r.HandleFunc(versionMatcher+"/{path:.*}", noop) // catch-all: not in routes, so "none"
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		f := strings.SplitN(in.Text(), " ", 2)
		p, err := hex.DecodeString(f[1])
		if err != nil {
			panic(err)
		}
		req := &http.Request{Method: f[0], URL: &url.URL{Path: string(p)}, Header: http.Header{}}
		var m mux.RouteMatch
		e, known := entry{}, false
		if r.Match(req, &m) && m.MatchErr == nil {
			e, known = routes[m.Route]
		}
		if !known {
			enc.Encode(map[string]bool{"none": true})
			continue
		}
		delete(m.Vars, "version")
		enc.Encode(map[string]interface{}{"m": e.m, "t": e.t, "v": m.Vars})
	}
}
