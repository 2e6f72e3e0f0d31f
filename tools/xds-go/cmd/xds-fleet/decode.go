package main

// What a simulated proxy needs from a resource: its name, the names it makes the proxy subscribe to,
// and whether Envoy could decode it. Thousands of proxies receive identical bytes, so each distinct
// resource, and each distinct set of resources in a response, is decoded once per process (keyed by
// hashes of the bytes), and name lists are interned: proxies of one identity share them.

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"

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

// nameList is an interned sorted list of distinct names: equal lists are one pointer.
type nameList struct {
	names     []string
	id        int
	announced bool // sent to the parent (the worker's flush only)
}

// nameTable interns name lists and memoizes their unions.
type nameTable struct {
	empty  *nameList
	mu     sync.Mutex
	lists  map[string]*nameList
	unions map[[2]*nameList]*nameList
}

func newNameTable() *nameTable {
	t := &nameTable{lists: map[string]*nameList{}, unions: map[[2]*nameList]*nameList{}}
	t.empty = t.intern(nil)
	return t
}

// intern: the interned list of names (sorted and made distinct here).
func (t *nameTable) intern(names []string) *nameList {
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	key := strings.Join(names, "\n")
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.lists[key]
	if !ok {
		l = &nameList{names: names, id: len(t.lists)}
		t.lists[key] = l
	}
	return l
}

func (t *nameTable) union(a, b *nameList) *nameList {
	if len(b.names) == 0 {
		return a
	}
	if len(a.names) == 0 {
		return b
	}
	t.mu.Lock()
	u, ok := t.unions[[2]*nameList{a, b}]
	t.mu.Unlock()
	if !ok {
		u = t.intern(append(slices.Clone(a.names), b.names...))
		t.mu.Lock()
		t.unions[[2]*nameList{a, b}] = u
		t.mu.Unlock()
	}
	return u
}

// decodedList is the resources of one response (or what a proxy holds of a type), with what is
// wrong with it as a whole and, computed once, the names in it and the names it refers to.
type decodedList struct {
	resources []*decoded
	problem   string
	once      sync.Once
	names     *nameList
	endpoints *nameList
	secrets   *nameList
	routes    *nameList
}

func (l *decodedList) index(t *nameTable) *decodedList {
	l.once.Do(func() {
		var names, endpoints, secrets, routes []string
		for _, r := range l.resources {
			names = append(names, r.name)
			endpoints = append(endpoints, r.endpoints...)
			secrets = append(secrets, r.secrets...)
			routes = append(routes, r.routes...)
		}
		l.names, l.endpoints, l.secrets, l.routes = t.intern(names), t.intern(endpoints), t.intern(secrets), t.intern(routes)
	})
	return l
}

type decodeKey struct {
	typeURL string
	sum     uint64
	size    int
}

// generational is a map that keeps what was used in the current or the previous generation:
// bounded, without bookkeeping.
type generational[V any] struct {
	current, previous map[decodeKey]V
	limit             int
}

func (g *generational[V]) get(k decodeKey) (V, bool) {
	v, ok := g.current[k]
	if !ok {
		if v, ok = g.previous[k]; ok {
			g.set(k, v)
		}
	}
	return v, ok
}

func (g *generational[V]) set(k decodeKey, v V) {
	if g.current == nil || len(g.current) >= g.limit {
		g.previous, g.current = g.current, map[decodeKey]V{}
	}
	g.current[k] = v
}

type decoder struct {
	seed      maphash.Seed
	names     *nameTable
	mu        sync.Mutex
	resources generational[*decoded]
	lists     generational[*decodedList]
}

func newDecoder(names *nameTable, limit int) *decoder {
	return &decoder{seed: maphash.MakeSeed(), names: names, resources: generational[*decoded]{limit: limit}, lists: generational[*decodedList]{limit: limit}}
}

// list decodes the resources of a response of type typeURL. Equal contents give the same list,
// also in another order: go-control-plane sends a type's resources in Go's random map order.
func (d *decoder) list(typeURL string, anys []rawAny) *decodedList {
	keys := make([]decodeKey, len(anys))
	sums := make([]byte, 0, 16*len(anys))
	for i, a := range anys {
		keys[i] = decodeKey{typeURL: a.typeURL, sum: maphash.Bytes(d.seed, a.value), size: len(a.value)}
	}
	sorted := slices.SortedFunc(slices.Values(keys), func(a, b decodeKey) int {
		return cmp.Or(strings.Compare(a.typeURL, b.typeURL), cmp.Compare(a.sum, b.sum))
	})
	for _, k := range sorted {
		sums = binary.LittleEndian.AppendUint64(sums, k.sum)
		sums = binary.LittleEndian.AppendUint64(sums, uint64(len(k.typeURL)))
	}
	listKey := decodeKey{typeURL: typeURL, sum: maphash.Bytes(d.seed, sums), size: len(anys)}
	d.mu.Lock()
	l, ok := d.lists.get(listKey)
	d.mu.Unlock()
	if ok {
		return l
	}
	list := make([]*decoded, len(anys))
	for i, a := range anys {
		d.mu.Lock()
		r, ok := d.resources.get(keys[i])
		d.mu.Unlock()
		if !ok {
			r = decodeOne(a.typeURL, a.value)
			d.mu.Lock()
			d.resources.set(keys[i], r)
			d.mu.Unlock()
		}
		list[i] = r
	}
	l = &decodedList{resources: list, problem: problemOf(typeURL, list)}
	l.index(d.names)
	d.mu.Lock()
	d.lists.set(listKey, l)
	d.mu.Unlock()
	return l
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
