package main

// The ADS protocol of one simulated Envoy sidecar (state of the world), without sockets: responses
// in, requests out. The same behaviour as libs/testing/src/fleet/session.ts (see its comment for the
// Envoy rules it follows); the two engines of the fleet must reach the same statuses.

import (
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
	subscribed *nameList // empty for wildcard types
	version    string
	nonce      string
	held       *decodedList
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
	list         *decodedList
}

// rejectFunc: a reason to NACK a response the proxy could otherwise accept, or "".
type rejectFunc func(typeURL string, resources []*decoded) string

type session struct {
	names           *nameTable
	none            *decodedList
	nodeOnFirstOnly bool
	reject          rejectFunc
	order           []*typeState
	types           map[string]*typeState
	nodeSent        bool
	replica         string
}

func newSession(names *nameTable, none *decodedList, nodeOnFirstOnly bool, reject rejectFunc) *session {
	s := &session{names: names, none: none, nodeOnFirstOnly: nodeOnFirstOnly, reject: reject, types: map[string]*typeState{}}
	s.add(resource.ClusterType, true, names.empty)
	return s
}

func (s *session) add(typeURL string, wildcard bool, subscribed *nameList) *typeState {
	t := &typeState{typeURL: typeURL, wildcard: wildcard, subscribed: subscribed, held: s.none, ackedAt: -1, responseAt: -1}
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
	return request{typeURL: t.typeURL, version: t.version, names: t.subscribed.names, nonce: t.nonce, node: s.node()}
}

func (s *session) reply(t *typeState, problem string) request {
	return request{typeURL: t.typeURL, version: t.version, names: t.subscribed.names, nonce: t.nonce, errMsg: problem, node: s.node()}
}

// receive handles a response at time now; it returns the requests to send, in order, and whether
// it was ACKed ("ack"), NACKed ("nack") or dropped ("ignored": a type never subscribed to).
func (s *session) receive(r *response, now float64) ([]request, string) {
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
	problem := r.list.problem
	if problem == "" && s.reject != nil {
		problem = s.reject(r.typeURL, r.list.resources)
	}
	if problem != "" {
		t.nacks++
		t.lastNack = problem
		return []request{s.reply(t, problem)}, "nack"
	}
	if t.wildcard || r.list.names == t.subscribed {
		t.held = r.list
	} else {
		t.held = s.merge(t, r.list)
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
	return []request{s.subscribeAll(s.add(resource.ListenerType, true, s.names.empty))}
}

func (s *session) newList(resources []*decoded) *decodedList {
	return (&decodedList{resources: resources}).index(s.names)
}

func wanted(names *nameList) map[string]bool {
	m := make(map[string]bool, len(names.names))
	for _, n := range names.names {
		m[n] = true
	}
	return m
}

// merge: a named type's response updates what it carries; what it leaves out stays (Envoy does not
// read absence as removal).
func (s *session) merge(t *typeState, incoming *decodedList) *decodedList {
	want := wanted(t.subscribed)
	byName := map[string]*decoded{}
	for _, r := range t.held.resources {
		byName[r.name] = r
	}
	for _, r := range incoming.resources {
		if want[r.name] {
			byName[r.name] = r
		}
	}
	out := make([]*decoded, 0, len(byName))
	for _, r := range byName {
		out = append(out, r)
	}
	return s.newList(out)
}

func (s *session) held(typeURL string) *decodedList {
	if t, ok := s.types[typeURL]; ok {
		return t.held
	}
	return s.none
}

// covers: the list holds every name of names.
func covers(list *decodedList, names *nameList) bool {
	if list.names == names || len(names.names) == 0 {
		return true
	}
	have := wanted(list.names)
	for _, n := range names.names {
		if !have[n] {
			return false
		}
	}
	return true
}

// follow: the subscriptions that follow from the clusters and listeners held; requests for those
// that changed (sent before the ACK of the response that changed them).
func (s *session) follow() []request {
	clusters := s.held(resource.ClusterType)
	listeners := s.held(resource.ListenerType)
	var out []request
	out = s.resubscribe(resource.EndpointType, clusters.endpoints, out)
	out = s.resubscribe(resource.SecretType, s.names.union(clusters.secrets, listeners.secrets), out)
	if s.warming() && covers(s.held(resource.EndpointType), clusters.endpoints) && covers(s.held(resource.SecretType), clusters.secrets) {
		out = append(out, s.subscribeAll(s.add(resource.ListenerType, true, s.names.empty)))
	}
	return s.resubscribe(resource.RouteType, listeners.routes, out)
}

func (s *session) resubscribe(typeURL string, names *nameList, out []request) []request {
	t, ok := s.types[typeURL]
	if !ok {
		if len(names.names) > 0 {
			out = append(out, s.subscribeAll(s.add(typeURL, false, names)))
		}
		return out
	}
	if t.subscribed == names {
		return out
	}
	t.subscribed = names
	want := wanted(names)
	kept := make([]*decoded, 0, len(t.held.resources))
	for _, r := range t.held.resources {
		if want[r.name] {
			kept = append(kept, r)
		}
	}
	if len(kept) < len(t.held.resources) {
		t.held = s.newList(kept)
	}
	return append(out, request{typeURL: typeURL, version: t.version, names: names.names, nonce: t.nonce, node: s.node()})
}
