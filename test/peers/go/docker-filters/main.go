// docker-filters: for each stdin line (hex of a `filters` query value) reads it the way
// dockerd's filters.FromJSON does (moby api/types/filters/parse.go, v20.10: the modern
// map[string]map[string]bool form, else the legacy map[string][]string form) and prints
// "ERR" or the args as JSON: {"key":["value",…]} with values sorted.
//
// With -serve SOCKET it is a daemon stand-in instead: an HTTP server on a unix socket that
// reads each request's `filters` as dockerd's list routes do (r.ParseForm, then
// FromJSON(r.Form.Get("filters"))), prints one line per request, "<path> <args or ERR>",
// and answers 200 [].
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
)

// Args as in moby: fields map[string]map[string]bool.
type Args struct {
	fields map[string]map[string]bool
}

// UnmarshalJSON as in moby (a value receiver: it fills the shared map).
func (args Args) UnmarshalJSON(raw []byte) error {
	return json.Unmarshal(raw, &args.fields)
}

func fromJSON(p string) (Args, error) {
	args := Args{map[string]map[string]bool{}}
	if p == "" {
		return args, nil
	}
	raw := []byte(p)
	err := json.Unmarshal(raw, &args)
	if err == nil {
		return args, nil
	}
	deprecated := map[string][]string{}
	if legacyErr := json.Unmarshal(raw, &deprecated); legacyErr != nil {
		return args, err
	}
	m := map[string]map[string]bool{}
	for k, v := range deprecated {
		values := map[string]bool{}
		for _, vv := range v {
			values[vv] = true
		}
		m[k] = values
	}
	args.fields = m
	return args, nil
}

// render prints args as {"key":["value",…]} with values sorted.
func render(args Args) string {
	res := map[string][]string{}
	for k, vs := range args.fields {
		list := []string{}
		for v := range vs {
			list = append(list, v)
		}
		sort.Strings(list)
		res[k] = list
	}
	j, _ := json.Marshal(res)
	return string(j)
}

func serve(path string) {
	l, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	fmt.Println("READY")
	http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		line := "ERR"
		if err := r.ParseForm(); err == nil {
			if args, err := fromJSON(r.Form.Get("filters")); err == nil {
				line = render(args)
			}
		}
		mu.Lock()
		fmt.Printf("%s %s\n", r.URL.Path, line)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("[]\n"))
	}))
}

func main() {
	sock := flag.String("serve", "", "serve HTTP on this unix socket")
	flag.Parse()
	if *sock != "" {
		serve(*sock)
		return
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		b, err := hex.DecodeString(in.Text())
		if err != nil {
			fmt.Fprintln(out, "ERR bad hex")
			continue
		}
		args, err := fromJSON(string(b))
		if err != nil {
			fmt.Fprintln(out, "ERR")
			continue
		}
		fmt.Fprintln(out, render(args))
	}
}
