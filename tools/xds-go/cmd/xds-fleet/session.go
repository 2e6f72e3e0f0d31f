package main

// The ADS protocol of one simulated Envoy sidecar (state of the world), without sockets: responses
// in, requests out. The same behaviour as libs/testing/src/fleet/session.ts (see its comment for the
// Envoy rules it follows); the two engines of the fleet must reach the same statuses.

import (
	"slices"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

// nackCode is Envoy's status code in error_detail of a NACK (INTERNAL).
const nackCode = 13

type request struct {
	typeURL string
	version string
	names   []string
	nonce   string
	errMsg  string // non-empty: a NACK
	node    bool
}

type typeState struct {
	typeURL    string
	wildcard   bool
	subscribed []string // sorted; empty for wildcard types
	version    string
	nonce      string
	held       []*decoded
	responses  int
	nacks      int
	lastNack   string
	ackedAt    float64 // -1: never
	responseAt float64
}

type response struct {
	typeURL      string
	version      string
	nonce        string
	controlPlane string
	resources    []*decoded
}

// rejectFunc: a reason to NACK a response the proxy could otherwise accept, or "".
type rejectFunc func(typeURL string, resources []*decoded) string

type session struct {
	nodeOnFirstOnly bool
	reject          rejectFunc
	order           []*typeState
	types           map[string]*typeState
	nodeSent        bool
	replica         string
}

func newSession(nodeOnFirstOnly bool, reject rejectFunc) *session {
	s := &session{nodeOnFirstOnly: nodeOnFirstOnly, reject: reject, types: map[string]*typeState{}}
	s.add(resource.ClusterType, true, nil)
	return s
}

func (s *session) add(typeURL string, wildcard bool, subscribed []string) *typeState {
	t := &typeState{typeURL: typeURL, wildcard: wildcard, subscribed: subscribed, ackedAt: -1, responseAt: -1}
	s.types[typeURL] = t
	s.order = append(s.order, t)
	return t
}

// warming: CDS is accepted but LDS not yet subscribed (the clusters wait for their EDS and SDS).
func (s *session) warming() bool {
	_, lds := s.types[resource.ListenerType]
	return s.types[resource.ClusterType].ackedAt >= 0 && !lds
}

func (s *session) node() bool {
	send := !s.nodeSent || !s.nodeOnFirstOnly
	s.nodeSent = true
	return send
}

// open: a new stream re-sends every subscribed type, in subscription order, with the versions held
// and no nonce.
func (s *session) open() []request {
	s.nodeSent = false
	out := make([]request, 0, len(s.order))
	for _, t := range s.order {
		t.nonce = ""
		out = append(out, s.subscribeAll(t))
	}
	return out
}

func (s *session) subscribeAll(t *typeState) request {
	return request{typeURL: t.typeURL, version: t.version, names: t.subscribed, nonce: t.nonce, node: s.node()}
}

func (s *session) reply(t *typeState, problem string) request {
	return request{typeURL: t.typeURL, version: t.version, names: t.subscribed, nonce: t.nonce, errMsg: problem, node: s.node()}
}

// receive handles a response at time now; it returns the requests to send, in order, and whether
// it was ACKed ("ack"), NACKed ("nack") or dropped ("ignored": a type never subscribed to).
func (s *session) receive(r *response, problem string, now float64) ([]request, string) {
	t, ok := s.types[r.typeURL]
	if !ok {
		return nil, "ignored"
	}
	t.nonce = r.nonce
	t.responses++
	t.responseAt = now
	if r.controlPlane != "" {
		s.replica = r.controlPlane
	}
	if problem == "" && s.reject != nil {
		problem = s.reject(r.typeURL, r.resources)
	}
	if problem != "" {
		t.nacks++
		t.lastNack = problem
		return []request{s.reply(t, problem)}, "nack"
	}
	if t.wildcard {
		t.held = r.resources
	} else {
		t.held = merge(t, r.resources)
	}
	t.version = r.version
	t.ackedAt = now
	requests := s.follow()
	return append(requests, s.reply(t, "")), "ack"
}

// warmTimeout: Envoy's initial fetch timeout ran out while the clusters were warming; go on to LDS.
func (s *session) warmTimeout() []request {
	if !s.warming() {
		return nil
	}
	return []request{s.subscribeAll(s.add(resource.ListenerType, true, nil))}
}

// merge: a named type's response updates what it carries; what it leaves out stays (Envoy does not
// read absence as removal).
func merge(t *typeState, incoming []*decoded) []*decoded {
	byName := make(map[string]*decoded, len(t.subscribed))
	for _, r := range t.held {
		byName[r.name] = r
	}
	for _, r := range incoming {
		if _, wanted := slices.BinarySearch(t.subscribed, r.name); wanted {
			byName[r.name] = r
		}
	}
	out := make([]*decoded, 0, len(byName))
	for _, r := range byName {
		out = append(out, r)
	}
	return out
}

func (s *session) held(typeURL string) []*decoded {
	if t, ok := s.types[typeURL]; ok {
		return t.held
	}
	return nil
}

// refs: the sorted, distinct names of one kind that resources refer to.
func refs(list []*decoded, kind func(*decoded) []string) []string {
	var out []string
	for _, r := range list {
		out = append(out, kind(r)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func union(a, b []string) []string {
	out := append(append([]string(nil), a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

func covers(list []*decoded, names []string) bool {
	have := make(map[string]bool, len(list))
	for _, r := range list {
		have[r.name] = true
	}
	for _, n := range names {
		if !have[n] {
			return false
		}
	}
	return true
}

func endpointRefs(d *decoded) []string { return d.endpoints }
func secretRefs(d *decoded) []string   { return d.secrets }
func routeRefs(d *decoded) []string    { return d.routes }

// follow: the subscriptions that follow from the clusters and listeners held; requests for those
// that changed (sent before the ACK of the response that changed them).
func (s *session) follow() []request {
	clusters := s.held(resource.ClusterType)
	listeners := s.held(resource.ListenerType)
	endpoints := refs(clusters, endpointRefs)
	clusterSecrets := refs(clusters, secretRefs)
	var out []request
	out = s.resubscribe(resource.EndpointType, endpoints, out)
	out = s.resubscribe(resource.SecretType, union(clusterSecrets, refs(listeners, secretRefs)), out)
	if s.warming() && covers(s.held(resource.EndpointType), endpoints) && covers(s.held(resource.SecretType), clusterSecrets) {
		out = append(out, s.subscribeAll(s.add(resource.ListenerType, true, nil)))
	}
	return s.resubscribe(resource.RouteType, refs(listeners, routeRefs), out)
}

func (s *session) resubscribe(typeURL string, names []string, out []request) []request {
	t, ok := s.types[typeURL]
	if !ok {
		if len(names) > 0 {
			out = append(out, s.subscribeAll(s.add(typeURL, false, names)))
		}
		return out
	}
	if slices.Equal(t.subscribed, names) {
		return out
	}
	t.subscribed = names
	t.held = slices.DeleteFunc(slices.Clone(t.held), func(r *decoded) bool {
		_, wanted := slices.BinarySearch(names, r.name)
		return !wanted
	})
	return append(out, request{typeURL: typeURL, version: t.version, names: names, nonce: t.nonce, node: s.node()})
}
