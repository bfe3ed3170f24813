// go-text: for each stdin line (hex of the input bytes) prints
// "start end bool int" where input[start:end] is strings.TrimSpace(input),
// bool is dockerd's httputils.BoolValue, int is Int64ValueOrZero.
package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"
)

func boolValue(v string) bool {
	s := strings.ToLower(strings.TrimSpace(v))
	return !(s == "" || s == "0" || s == "no" || s == "false" || s == "none")
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	for in.Scan() {
		b, err := hex.DecodeString(in.Text())
		if err != nil {
			fmt.Fprintln(out, "ERR")
			continue
		}
		s := string(b)
		left := strings.TrimLeftFunc(s, unicode.IsSpace)
		start := len(s) - len(left)
		end := start + len(strings.TrimSpace(s))
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || s == "" {
			n = 0
		}
		bv := 0
		if boolValue(s) {
			bv = 1
		}
		fmt.Fprintf(out, "%d %d %d %d\n", start, end, bv, n)
	}
}
