package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	grpcstatus "google.golang.org/grpc/status"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
)

type adsStream = grpc.ClientStream

var adsStreamDesc = &grpc.StreamDesc{StreamName: "StreamAggregatedResources", ServerStreams: true, ClientStreams: true}

const adsMethod = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"

// proxy is one simulated sidecar: its connection loop and its session.
type proxy struct {
	w     *worker
	index int
	creds credentials.TransportCredentials
	node  *corev3.Node

	// mu guards the fields below; sendMu orders the writes to the stream. Taken in that order, and
	// mu is released before a write blocks.
	mu             sync.Mutex
	sendMu         sync.Mutex
	session        *session
	stream         adsStream
	warmTimer      *time.Timer
	backoffMs      float64 // the next wait is random below this, which then doubles
	connected      bool
	server         string
	connects       int
	attempts       int
	lastError      string
	lastAckAt      float64
	lastResponseAt float64
}

func newProxy(w *worker, index int, spec proxySpec, creds credentials.TransportCredentials) *proxy {
	nodeID := spec.NodeID
	if nodeID == "" {
		nodeID = spec.UUID
	}
	return &proxy{
		w:     w,
		index: index,
		creds: creds,
		node: &corev3.Node{Id: nodeID, Cluster: spec.Cluster, UserAgentName: "envoy",
			UserAgentVersionType: &corev3.Node_UserAgentVersion{UserAgentVersion: "osm-ts-fleet"}},
		session:        newSession(w.names, w.none, w.config.NodeOnFirstMessageOnly, w.rejectFor(spec.UUID)),
		backoffMs:      w.config.BackoffBaseMs,
		lastAckAt:      -1,
		lastResponseAt: -1,
	}
}

func (p *proxy) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.w.done:
		return false
	}
}

// run connects, and reconnects with Envoy's backoff, until the worker stops.
func (p *proxy) run() {
	if ramp := p.w.config.RampMs; ramp > 0 && !p.sleep(time.Duration(rand.Float64()*ramp*float64(time.Millisecond))) {
		return
	}
	for !p.w.stopping.Load() {
		p.attempt()
		if p.w.stopping.Load() {
			return
		}
		p.mu.Lock()
		wait := backoffWait(p.backoffMs)
		p.backoffMs = math.Min(p.backoffMs*2, p.w.config.BackoffMaxMs)
		p.mu.Unlock()
		if !p.sleep(wait) {
			return
		}
	}
}

// attempt: one connection (a new one each time: behind a Kubernetes Service each may land on
// another replica) and one stream on it, until the stream ends.
func (p *proxy) attempt() {
	p.mu.Lock()
	p.attempts++
	p.server = p.w.pickServer()
	server := p.server
	p.w.changed(p)
	p.mu.Unlock()
	conn, err := grpc.NewClient("passthrough:///"+server,
		grpc.WithTransportCredentials(p.creds),
		grpc.WithAuthority(p.w.config.ServerName),
		grpc.WithDisableRetry(),
		grpc.WithDisableServiceConfig(),
		// Smaller buffers than gRPC's 32 KiB each way: thousands of connections per process, and
		// responses of a few KiB to a few hundred.
		grpc.WithSharedWriteBuffer(true),
		grpc.WithReadBufferSize(16*1024),
		grpc.WithWriteBufferSize(16*1024),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
	if err != nil {
		p.ended(nil, err)
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.w.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	// Fail-fast: the call waits for the connection (TLS included) and fails if it cannot be made, so
	// a stream returned here is established (Envoy's connected_state).
	stream, err := conn.NewStream(ctx, adsStreamDesc, adsMethod, grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		p.ended(nil, err)
		return
	}
	p.mu.Lock()
	p.stream = stream
	p.connected = true
	p.connects++
	requests := p.session.open()
	p.sendLocked(stream, requests)
	for {
		r := rawResponse{decoder: p.w.decoder}
		if err := stream.RecvMsg(&r); err != nil {
			p.ended(stream, err)
			return
		}
		p.onResponse(stream, &r)
	}
}

// sendLocked writes requests in order; called with mu held, which it releases. The proxy is marked
// changed before: a flush after this call reports what happened (the parent's sync relies on it).
func (p *proxy) sendLocked(stream adsStream, requests []request) {
	p.w.changed(p)
	p.sendMu.Lock()
	p.mu.Unlock()
	defer p.sendMu.Unlock()
	if stream == nil {
		return
	}
	for _, r := range requests {
		// A failed write ends the stream; Recv reports why.
		if err := stream.SendMsg(p.encode(r)); err != nil {
			return
		}
	}
}

func (p *proxy) encode(r request) *discoveryv3.DiscoveryRequest {
	m := &discoveryv3.DiscoveryRequest{VersionInfo: r.version, ResourceNames: r.names, TypeUrl: r.typeURL, ResponseNonce: r.nonce}
	if r.node {
		m.Node = p.node
	}
	if r.errMsg != "" {
		m.ErrorDetail = &status.Status{Code: nackCode, Message: r.errMsg}
	}
	return m
}

func (p *proxy) onResponse(stream adsStream, m *rawResponse) {
	now := monotonicMs()
	p.mu.Lock()
	if stream != p.stream {
		p.mu.Unlock()
		return
	}
	// Envoy resets its backoff once a message arrives on the stream.
	p.backoffMs = p.w.config.BackoffBaseMs
	p.lastResponseAt = now
	requests, outcome := p.session.receive(&response{typeURL: m.typeURL, version: m.version, nonce: m.nonce, controlPlane: m.controlPlane, list: m.list}, now)
	if outcome == "ack" {
		p.lastAckAt = now
	}
	p.armWarmTimer()
	p.sendLocked(stream, requests)
}

// armWarmTimer (mu held): Envoy's initial fetch timeout for warming clusters.
func (p *proxy) armWarmTimer() {
	timeout := p.w.config.InitialFetchTimeoutMs
	if timeout <= 0 || p.warmTimer != nil || !p.session.warming() {
		return
	}
	p.warmTimer = time.AfterFunc(time.Duration(timeout*float64(time.Millisecond)), func() {
		p.mu.Lock()
		requests := p.session.warmTimeout()
		stream := p.stream
		if !p.connected {
			stream = nil
		}
		p.sendLocked(stream, requests)
	})
}

// ended: the stream (or the attempt to open one) ended with err.
func (p *proxy) ended(stream adsStream, err error) {
	p.mu.Lock()
	if stream != nil && stream != p.stream {
		p.mu.Unlock()
		return
	}
	p.stream = nil
	if p.w.stopping.Load() {
		if p.connected {
			p.lastError = "stopped"
		}
	} else {
		s := grpcstatus.Convert(err)
		p.lastError = fmt.Sprintf("%d %s", s.Code(), s.Message())
	}
	p.connected = false
	p.w.changed(p)
	p.mu.Unlock()
}

func (p *proxy) stop() {
	p.mu.Lock()
	if p.warmTimer != nil {
		p.warmTimer.Stop()
	}
	p.mu.Unlock()
}

func (p *proxy) status(typeStatus func(*typeState) wireTypeStatus) wireStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	types := make([]wireTypeStatus, len(p.session.order))
	for i, t := range p.session.order {
		types[i] = typeStatus(t)
	}
	return wireStatus{I: p.index, Connected: p.connected, Server: p.server, Replica: p.session.replica, Connects: p.connects,
		Attempts: p.attempts, LastError: p.lastError, LastAckAt: p.lastAckAt, LastResponseAt: p.lastResponseAt, Types: types}
}
