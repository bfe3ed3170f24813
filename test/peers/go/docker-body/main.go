// docker-body: for each stdin line "KIND HEX" decodes the body (hex) the way dockerd does
// (json.NewDecoder(r).Decode into dockerd's structs, field names and Go types as in moby
// api/types and runconfig, reduced to the fields hijack's policy decides on) and prints one
// line: "ERR <error>" or the decided fields as JSON, integers as strings "n:<digits>".
// Kind "build-query": HEX is the raw query of POST /build, read as dockerd 20.10's
// newImageBuildOptions reads it (url.ParseQuery, FormValue, Form[...], json.Unmarshal).
package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// StrSlice is docker's strslice.StrSlice: an array of strings or one string.
type StrSlice []string

// UnmarshalJSON is copied in behaviour from moby api/types/strslice.
func (e *StrSlice) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	p := make([]string, 0, 1)
	if err := json.Unmarshal(b, &p); err != nil {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		p = append(p, s)
	}
	*e = p
	return nil
}

type DeviceMapping struct {
	PathOnHost        string
	PathInContainer   string
	CgroupPermissions string
}

type DeviceRequest struct {
	Driver       string
	Count        int
	DeviceIDs    []string
	Capabilities [][]string
	Options      map[string]string
}

type Resources struct {
	Memory            int64
	NanoCPUs          int64 `json:"NanoCpus"`
	PidsLimit         *int64
	Devices           []DeviceMapping
	DeviceCgroupRules []string
	DeviceRequests    []DeviceRequest
}

type Driver struct {
	Name    string
	Options map[string]string
}

type VolumeOptions struct {
	DriverConfig *Driver
}

type Type string

type Mount struct {
	Type          Type
	Source        string
	Target        string
	VolumeOptions *VolumeOptions
}

type NetworkMode string

type HostConfig struct {
	Binds        []string
	NetworkMode  NetworkMode
	VolumesFrom  []string
	CapAdd       StrSlice
	CgroupnsMode string
	IpcMode      string
	PidMode      string
	Privileged   bool
	SecurityOpt  []string
	UTSMode      string
	UsernsMode   string
	Sysctls      map[string]string
	Runtime      string
	Mounts       []Mount
	Resources
}

type Config struct {
	Image  string
	User   string
	Labels map[string]string
}

// ContainerConfigWrapper as in dockerd 20.10 runconfig/config_unix.go.
type ContainerConfigWrapper struct {
	*Config
	InnerHostConfig *HostConfig `json:"HostConfig,omitempty"`
	*HostConfig
}

type ExecConfig struct {
	User       string
	Privileged bool
}

type VolumeCreate struct {
	Name       string
	Driver     string
	DriverOpts map[string]string
	Labels     map[string]string
}

type UpdateConfig struct {
	Resources
}

// IPAMConfig, IPAM, ConfigReference, NetworkCreate and NetworkCreateRequest as in moby
// api/types (20.10). Moby's IPAMConfig tags its fields omitempty, which changes only how they
// are written, not read: left out here so that every field is printed.
type IPAMConfig struct {
	Subnet     string
	IPRange    string
	Gateway    string
	AuxAddress map[string]string `json:"AuxiliaryAddresses"`
}

type IPAM struct {
	Driver  string
	Options map[string]string
	Config  []IPAMConfig
}

type ConfigReference struct {
	Network string
}

type NetworkCreate struct {
	CheckDuplicate bool
	Driver         string
	Scope          string
	EnableIPv6     bool
	IPAM           *IPAM
	Internal       bool
	Attachable     bool
	Ingress        bool
	ConfigOnly     bool
	ConfigFrom     *ConfigReference
	Options        map[string]string
	Labels         map[string]string
}

type NetworkCreateRequest struct {
	NetworkCreate
	Name string
}

// Ulimit is go-units' Ulimit; ImageBuildOutput is moby api/types'.
type Ulimit struct {
	Name string
	Hard int64
	Soft int64
}

type ImageBuildOutput struct {
	Type  string
	Attrs map[string]string
}

// buildQuery reads what hijack's policy decides on in a build query, as newImageBuildOptions.
func buildQuery(raw string) (interface{}, error) {
	form, err := url.ParseQuery(raw)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{
		"networkmode": form.Get("networkmode"),
		"remote":      form.Get("remote"),
		"t":           orEmpty(form["t"]),
		"securityopt": orEmpty(form["securityopt"]),
		"extrahosts":  orEmpty(form["extrahosts"]),
	}
	var (
		buildArgs = map[string]*string{}
		labels    = map[string]string{}
		cacheFrom = []string{}
		ulimits   = []*Ulimit{}
		outputs   []ImageBuildOutput
	)
	targets := []struct {
		name string
		into interface{}
	}{{"buildargs", &buildArgs}, {"labels", &labels}, {"cachefrom", &cacheFrom}, {"ulimits", &ulimits}, {"outputs", &outputs}}
	for _, t := range targets {
		v := form.Get(t.name)
		if v == "" {
			out[t.name] = nil
			continue
		}
		if err := json.Unmarshal([]byte(v), t.into); err != nil {
			return nil, err
		}
		out[t.name] = t.into
	}
	return out, nil
}

func orEmpty(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func numbersToStrings(v interface{}) interface{} {
	switch t := v.(type) {
	case json.Number:
		return "n:" + string(t)
	case map[string]interface{}:
		for k, x := range t {
			t[k] = numbersToStrings(x)
		}
	case []interface{}:
		for i, x := range t {
			t[i] = numbersToStrings(x)
		}
	}
	return v
}

func decide(kind string, body []byte) (interface{}, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	switch kind {
	case "container-create":
		var w ContainerConfigWrapper
		if err := dec.Decode(&w); err != nil {
			return nil, err
		}
		cfg := Config{}
		if w.Config != nil {
			cfg = *w.Config
		}
		return map[string]interface{}{"Config": cfg, "HostConfig": w.InnerHostConfig, "Legacy": w.HostConfig != nil}, nil
	case "exec-create":
		var e ExecConfig
		err := dec.Decode(&e)
		return e, err
	case "volume-create":
		var e VolumeCreate
		err := dec.Decode(&e)
		return e, err
	case "container-update":
		var e UpdateConfig
		err := dec.Decode(&e)
		return e, err
	case "network-create":
		var e NetworkCreateRequest
		err := dec.Decode(&e)
		return e, err
	case "build-query":
		return buildQuery(string(body))
	}
	return nil, fmt.Errorf("unknown kind %s", kind)
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	for in.Scan() {
		parts := strings.SplitN(in.Text(), " ", 2)
		body, err := hex.DecodeString(parts[1])
		if err != nil {
			fmt.Fprintln(out, "ERR bad hex")
			continue
		}
		v, err := decide(parts[0], body)
		if err != nil {
			fmt.Fprintln(out, "ERR "+strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		raw, _ := json.Marshal(v)
		var g interface{}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		_ = d.Decode(&g)
		raw, _ = json.Marshal(numbersToStrings(g))
		fmt.Fprintln(out, string(raw))
	}
}
