package main

// What a simulated proxy needs from a resource: its name, the names it makes the proxy subscribe to,
// and whether Envoy could decode it. Thousands of proxies receive identical bytes, so each distinct
// resource is decoded once per process (keyed by a hash of its bytes).

import (
	"fmt"
	"hash/maphash"
	"sync"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/osm-ts/osm-ts/tools/xds-go/internal/check"
	"github.com/osm-ts/osm-ts/tools/xds-go/internal/resources"
)

type decoded struct {
	typeURL   string
	name      string
	endpoints []string // EDS names of an EDS cluster
	secrets   []string // SDS names of TLS transport sockets
	routes    []string // RDS names of HTTP connection managers
	err       string   // why Envoy would reject it
}

type decodeKey struct {
	typeURL string
	sum     uint64
	size    int
}

// decoder caches decoded resources; a generation is dropped when the map grows past its limit, so a
// long run with many pushes stays bounded.
type decoder struct {
	seed     maphash.Seed
	mu       sync.RWMutex
	current  map[decodeKey]*decoded
	previous map[decodeKey]*decoded
	limit    int
}

func newDecoder(limit int) *decoder {
	return &decoder{seed: maphash.MakeSeed(), current: map[decodeKey]*decoded{}, previous: map[decodeKey]*decoded{}, limit: limit}
}

func (d *decoder) decode(a *anypb.Any) *decoded {
	key := decodeKey{typeURL: a.GetTypeUrl(), sum: maphash.Bytes(d.seed, a.GetValue()), size: len(a.GetValue())}
	d.mu.RLock()
	r, ok := d.current[key]
	if !ok {
		r, ok = d.previous[key]
	}
	d.mu.RUnlock()
	if !ok {
		r = decodeOne(a.GetTypeUrl(), a.GetValue())
	}
	d.mu.Lock()
	if len(d.current) >= d.limit {
		d.previous, d.current = d.current, map[decodeKey]*decoded{}
	}
	d.current[key] = r
	d.mu.Unlock()
	return r
}

func decodeOne(typeURL string, value []byte) *decoded {
	msg, err := resources.Decode(resources.Line{TypeURL: typeURL, Value: value})
	if err != nil {
		return &decoded{typeURL: typeURL, err: fmt.Sprintf("cannot decode %s: %v", typeURL, err)}
	}
	subs := check.Subscriptions(typeURL, msg)
	return &decoded{
		typeURL:   typeURL,
		name:      resources.NameOf(msg),
		endpoints: subs[resource.EndpointType],
		secrets:   subs[resource.SecretType],
		routes:    subs[resource.RouteType],
	}
}

// problemOf: what Envoy would reject a whole response for (an undecodable resource, a foreign type,
// a missing or duplicate name); "" when nothing.
func problemOf(typeURL string, list []*decoded) string {
	seen := make(map[string]bool, len(list))
	for _, r := range list {
		switch {
		case r.err != "":
			return r.err
		case r.typeURL != typeURL:
			return fmt.Sprintf("resource type %s does not match response type %s", r.typeURL, typeURL)
		case r.name == "":
			return fmt.Sprintf("a resource of type %s has no name", typeURL)
		case seen[r.name]:
			return fmt.Sprintf("duplicate resource name '%s' in %s", r.name, typeURL)
		}
		seen[r.name] = true
	}
	return ""
}
