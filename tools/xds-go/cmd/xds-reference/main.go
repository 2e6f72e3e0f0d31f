// xds-reference serves ADS with go-control-plane's own snapshot cache and server, over mTLS, fed
// pre-encoded resources: the reference that osm-ts's ADS server is measured against (benchmark
// B7: same resources, same fleet, same transport).
//
//	xds-reference --manifest m.json --cert server.pem --key server-key.pem --ca clients-root.pem \
//	    [--address 127.0.0.1:0]
//
// The manifest names the snapshots and which node gets which (see manifest). SIGHUP reloads it
// and every snapshot file; SIGTERM and SIGINT stop gracefully. Events are JSON lines on stdout:
// {"event":"listening","address":...}, {"event":"reloaded","generation":N,...} or
// {"event":"reload-failed",...}; logs go to stderr.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cache "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/log"
	server "github.com/envoyproxy/go-control-plane/pkg/server/v3"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "xds-reference: %v\n", err)
		os.Exit(2)
	}
}

func event(fields map[string]any) {
	data, _ := json.Marshal(fields)
	fmt.Println(string(data))
}

func serverTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	// As Envoy's control plane must: only proxies with a certificate from the mesh root get in.
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    roots,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

func run() error {
	address := flag.String("address", "127.0.0.1:0", "host:port to listen on (port 0: any free port, printed in the listening event)")
	manifestPath := flag.String("manifest", "", "JSON manifest of the snapshots and which node gets which (required)")
	certFile := flag.String("cert", "", "PEM server certificate (required)")
	keyFile := flag.String("key", "", "PEM private key of the server certificate (required)")
	caFile := flag.String("ca", "", "PEM roots that client certificates must chain to (required)")
	grace := flag.Duration("grace", 5*time.Second, "how long a graceful stop waits for streams to end")
	flag.Parse()
	if *manifestPath == "" || *certFile == "" || *keyFile == "" || *caFile == "" {
		flag.Usage()
		return errors.New("--manifest, --cert, --key and --ca are required")
	}
	tlsConfig, err := serverTLS(*certFile, *keyFile, *caFile)
	if err != nil {
		return err
	}
	first, err := load(*manifestPath)
	if err != nil {
		return err
	}
	var current atomic.Pointer[loaded]
	current.Store(first)

	// Errors only: the cache warns on every subscription by name that does not yet name all of a
	// type's resources, which is how Envoy subscribes (SDS grows after LDS), once per proxy.
	logger := log.LoggerFuncs{
		ErrorFunc: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "error: "+f+"\n", a...) },
	}
	snapshots := cache.NewSnapshotCache(true, nodeHash{current: current.Load}, logger)
	apply := func(l *loaded, previous *loaded) error {
		for key, s := range l.snapshots {
			if err := s.Consistent(); err != nil {
				fmt.Fprintf(os.Stderr, "warn: snapshot %q is not consistent, proxies may wait for resources it lacks: %v\n", key, err)
			}
			if err := snapshots.SetSnapshot(context.Background(), key, s); err != nil {
				return fmt.Errorf("snapshot %q: %w", key, err)
			}
		}
		if previous != nil {
			for key := range previous.snapshots {
				if _, ok := l.snapshots[key]; !ok {
					snapshots.ClearSnapshot(key)
				}
			}
		}
		return nil
	}
	if err := apply(first, nil); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	xds := server.NewServer(ctx, snapshots, server.CallbackFuncs{})
	grpcServer := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(tlsConfig)),
		// A whole fleet may multiplex on few connections; grpc-go's default stream limit is small.
		grpc.MaxConcurrentStreams(1_000_000),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 5 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	)
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(grpcServer, xds)

	// Go's net.Listen already asks for the largest backlog the OS allows (net.core.somaxconn),
	// so a reconnect storm is not cut short by a small accept queue.
	lis, err := net.Listen("tcp", *address)
	if err != nil {
		return err
	}
	event(map[string]any{"event": "listening", "address": lis.Addr().String(), "generation": first.manifest.Generation, "snapshots": len(first.snapshots), "resources": first.resources})

	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for sig := range signals {
			if sig != syscall.SIGHUP {
				stopped := make(chan struct{})
				go func() { grpcServer.GracefulStop(); close(stopped) }()
				select {
				case <-stopped:
				case <-time.After(*grace):
					grpcServer.Stop()
				}
				return
			}
			previous := current.Load()
			next, err := load(*manifestPath)
			if err == nil {
				current.Store(next)
				err = apply(next, previous)
			}
			if err != nil {
				event(map[string]any{"event": "reload-failed", "error": err.Error()})
				continue
			}
			event(map[string]any{"event": "reloaded", "generation": next.manifest.Generation, "snapshots": len(next.snapshots), "resources": next.resources})
		}
	}()
	return grpcServer.Serve(lis)
}
