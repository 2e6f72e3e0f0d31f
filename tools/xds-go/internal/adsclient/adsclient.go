// Package adsclient connects to an ADS server as an Envoy sidecar does (gRPC over mTLS, a node id,
// state-of-the-world ADS: CDS and LDS wildcard, then EDS, RDS and SDS by the names those name),
// ACKs every response, and returns every resource of the proxy.
package adsclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/osm-ts/osm-ts/tools/xds-go/internal/check"
	"github.com/osm-ts/osm-ts/tools/xds-go/internal/resources"
)

// Options say how to reach the server and who to be.
type Options struct {
	Server      string
	CAFile      string
	CertFile    string // empty: no client certificate (to see a server refuse it)
	KeyFile     string
	ServerName  string
	NodeID      string
	NodeCluster string
}

// Result is what one collection gathered.
type Result struct {
	Lines []resources.Line
	// Problems of the exchange itself (a type never answered, a resource of the wrong type).
	Problems     []check.Problem
	ControlPlane string
}

// ErrIncomplete: the context ended before every subscribed resource arrived; the Result holds what did.
var ErrIncomplete = errors.New("not every subscribed resource arrived")

// The order Envoy subscribes in: clusters (and their endpoints) before listeners (and their routes).
var order = []string{resource.ClusterType, resource.EndpointType, resource.ListenerType, resource.RouteType, resource.SecretType}

type typeState struct {
	wildcard  bool
	names     []string // sorted; the subscription of a non-wildcard type
	version   string
	nonce     string
	responded bool
	received  map[string]resources.Line
	messages  map[string]proto.Message
}

type session struct {
	stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node   *corev3.Node
	types  map[string]*typeState
	result Result
}

func tlsConfig(opts Options) (*tls.Config, error) {
	caPEM, err := os.ReadFile(opts.CAFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no PEM certificate", opts.CAFile)
	}
	serverName := opts.ServerName
	if serverName == "" {
		host, _, err := net.SplitHostPort(opts.Server)
		if err != nil {
			return nil, fmt.Errorf("--server %q: %w", opts.Server, err)
		}
		serverName = host
	}
	cfg := &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if opts.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Collect subscribes as Envoy does until every subscribed resource has arrived (nil error), the
// context ends first (ErrIncomplete, with what arrived), or the stream fails (another error).
func Collect(ctx context.Context, opts Options) (Result, error) {
	cfg, err := tlsConfig(opts)
	if err != nil {
		return Result{}, err
	}
	conn, err := grpc.NewClient(opts.Server, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(streamCtx)
	if err != nil {
		return Result{}, fmt.Errorf("opening the ADS stream to %s: %w%s", opts.Server, err, refusal(ctx, opts.Server, cfg, err))
	}
	s := &session{
		stream: stream,
		node:   &corev3.Node{Id: opts.NodeID, Cluster: opts.NodeCluster, UserAgentName: "envoy"},
		types:  map[string]*typeState{},
	}
	for _, t := range order {
		s.types[t] = &typeState{wildcard: t == resource.ClusterType || t == resource.ListenerType, received: map[string]resources.Line{}, messages: map[string]proto.Message{}}
	}
	for _, t := range []string{resource.ClusterType, resource.ListenerType} {
		if err := s.request(t); err != nil {
			return Result{}, err
		}
	}
	responses := make(chan *discoveryv3.DiscoveryResponse)
	failed := make(chan error, 1)
	go func() {
		for {
			r, err := stream.Recv()
			if err != nil {
				failed <- err
				return
			}
			select {
			case responses <- r:
			case <-streamCtx.Done():
				return
			}
		}
	}()
	for {
		select {
		case r := <-responses:
			if err := s.handle(r); err != nil {
				return s.finish(), err
			}
			if s.complete() {
				return s.finish(), nil
			}
		case err := <-failed:
			if ctx.Err() != nil {
				return s.incomplete(), ErrIncomplete
			}
			return s.finish(), fmt.Errorf("ADS stream to %s failed: %w%s", opts.Server, err, refusal(ctx, opts.Server, cfg, err))
		case <-ctx.Done():
			return s.incomplete(), ErrIncomplete
		}
	}
}

// refusal explains a failed stream when the server refused the TLS connection. With TLS 1.3 the
// server checks the client certificate after the client's side of the handshake is done, so gRPC
// only sees a closed connection; a bare TLS connection that reads once receives the server's alert.
func refusal(ctx context.Context, server string, cfg *tls.Config, failure error) string {
	if strings.Contains(failure.Error(), "remote error") {
		return "" // gRPC saw the alert itself
	}
	dialer := &tls.Dialer{Config: cfg}
	probeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := dialer.DialContext(probeCtx, "tcp", server)
	if err != nil {
		return fmt.Sprintf(" (TLS: %v)", err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != nil && strings.Contains(err.Error(), "remote error") {
		return fmt.Sprintf(" (the server refused the TLS connection: %v)", err)
	}
	return ""
}

func (s *session) request(typeURL string) error {
	st := s.types[typeURL]
	req := &discoveryv3.DiscoveryRequest{
		Node:          s.node,
		TypeUrl:       typeURL,
		VersionInfo:   st.version,
		ResponseNonce: st.nonce,
		ResourceNames: st.names,
	}
	if err := s.stream.Send(req); err != nil {
		return fmt.Errorf("sending the %s request: %w", resources.TypeName(typeURL), err)
	}
	return nil
}

// handle stores a response's resources, ACKs it, and follows the names its resources refer to.
func (s *session) handle(r *discoveryv3.DiscoveryResponse) error {
	st, ok := s.types[r.GetTypeUrl()]
	if !ok {
		s.result.Problems = append(s.result.Problems, check.Problem{TypeURL: r.GetTypeUrl(), Rule: "ads",
			Message: "the server sent a type this proxy never subscribed to"})
		return nil
	}
	if id := r.GetControlPlane().GetIdentifier(); id != "" {
		s.result.ControlPlane = id
	}
	if st.wildcard {
		st.received = map[string]resources.Line{}
		st.messages = map[string]proto.Message{}
	}
	for _, a := range r.GetResources() {
		if a.GetTypeUrl() != r.GetTypeUrl() {
			s.result.Problems = append(s.result.Problems, check.Problem{TypeURL: r.GetTypeUrl(), Rule: "ads",
				Message: fmt.Sprintf("a %s response carries a resource of type %s; Envoy rejects the response", resources.TypeName(r.GetTypeUrl()), a.GetTypeUrl())})
			continue
		}
		line := resources.Line{TypeURL: a.GetTypeUrl(), Value: a.GetValue()}
		msg, err := resources.Decode(line)
		if err != nil {
			// Keep it: the check reports it as undecodable.
			st.received[fmt.Sprintf("(undecodable #%d)", len(st.received))] = line
			continue
		}
		line.Name = resources.NameOf(msg)
		st.received[line.Name] = line
		st.messages[line.Name] = msg
	}
	st.version, st.nonce, st.responded = r.GetVersionInfo(), r.GetNonce(), true
	if err := s.request(r.GetTypeUrl()); err != nil { // the ACK
		return err
	}
	if r.GetTypeUrl() == resource.ClusterType || r.GetTypeUrl() == resource.ListenerType {
		return s.follow()
	}
	return nil
}

// follow updates the EDS, RDS and SDS subscriptions to the names clusters and listeners refer to.
func (s *session) follow() error {
	wanted := map[string]map[string]bool{}
	for _, t := range []string{resource.ClusterType, resource.ListenerType} {
		for _, msg := range s.types[t].messages {
			for typeURL, names := range check.Subscriptions(t, msg) {
				if wanted[typeURL] == nil {
					wanted[typeURL] = map[string]bool{}
				}
				for _, n := range names {
					wanted[typeURL][n] = true
				}
			}
		}
	}
	for _, t := range []string{resource.EndpointType, resource.RouteType, resource.SecretType} {
		st := s.types[t]
		var names []string
		for n := range wanted[t] {
			names = append(names, n)
		}
		slices.Sort(names)
		if slices.Equal(names, st.names) {
			continue
		}
		st.names = names
		for n := range st.received {
			if !wanted[t][n] {
				delete(st.received, n)
				delete(st.messages, n)
			}
		}
		if len(names) == 0 {
			continue
		}
		if err := s.request(t); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) complete() bool {
	for _, t := range order {
		st := s.types[t]
		if st.wildcard && !st.responded {
			return false
		}
		for _, n := range st.names {
			if _, ok := st.received[n]; !ok {
				return false
			}
		}
	}
	return true
}

func (s *session) finish() Result {
	for _, t := range order {
		st := s.types[t]
		var names []string
		for n := range st.received {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			s.result.Lines = append(s.result.Lines, st.received[n])
		}
	}
	return s.result
}

func (s *session) incomplete() Result {
	for _, t := range []string{resource.ClusterType, resource.ListenerType} {
		if !s.types[t].responded {
			s.result.Problems = append(s.result.Problems, check.Problem{TypeURL: t, Rule: "ads",
				Message: fmt.Sprintf("the server sent no %s response before the timeout (a wildcard subscription is always answered, even when empty)", resources.TypeName(t))})
		}
	}
	return s.finish()
}
