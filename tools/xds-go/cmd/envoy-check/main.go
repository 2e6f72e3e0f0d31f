// envoy-check applies Envoy's rules to Envoy configuration with go-control-plane's types, as an
// independent check of what osm-ts builds and serves.
//
//	envoy-check [file]          resources as JSON lines {typeUrl, name, value: base64} (stdin without
//	                            a file); a line of type envoy.config.bootstrap.v3.Bootstrap is checked
//	                            as a bootstrap on its own
//	envoy-check ads [flags]     connect to an ADS server as Envoy does (mTLS), collect every resource
//	                            of the proxy, and check them
//
// It prints one JSON object per problem on stdout and exits 1 when there is any, 0 when there is
// none, and 2 when it could not check (bad input, no connection), saying why on stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/osm-ts/osm-ts/tools/xds-go/internal/adsclient"
	"github.com/osm-ts/osm-ts/tools/xds-go/internal/check"
	"github.com/osm-ts/osm-ts/tools/xds-go/internal/resources"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "ads" {
		return runADS(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("envoy-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: envoy-check [file]   (JSON lines {typeUrl, name, value}; stdin without a file)\n       envoy-check ads --help")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	in := stdin
	if fs.NArg() > 0 {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "envoy-check: %v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	lines, err := resources.Read(in)
	if err != nil {
		fmt.Fprintf(stderr, "envoy-check: %v\n", err)
		return 2
	}
	return report(check.Lines(lines), stdout, stderr)
}

func report(problems []check.Problem, stdout, stderr io.Writer) int {
	enc := json.NewEncoder(stdout)
	for _, p := range problems {
		if err := enc.Encode(p); err != nil {
			fmt.Fprintf(stderr, "envoy-check: %v\n", err)
			return 2
		}
	}
	if len(problems) > 0 {
		return 1
	}
	return 0
}

func runADS(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("envoy-check ads", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts adsclient.Options
	fs.StringVar(&opts.Server, "server", "", "ADS server address host:port (required)")
	fs.StringVar(&opts.CAFile, "ca", "", "PEM file of the roots the server certificate is verified against (required)")
	fs.StringVar(&opts.CertFile, "cert", "", "PEM file of the client certificate (Envoy's bootstrap certificate)")
	fs.StringVar(&opts.KeyFile, "key", "", "PEM file of the client certificate's private key")
	fs.StringVar(&opts.ServerName, "server-name", "", "name the server certificate must carry (default: the host of --server)")
	fs.StringVar(&opts.NodeID, "node-id", "", "Envoy node.id (required)")
	fs.StringVar(&opts.NodeCluster, "node-cluster", "", "Envoy node.cluster (--service-cluster)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up waiting for resources after this long")
	out := fs.String("resources-out", "", "also write the collected resources to this file as JSON lines")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if opts.Server == "" || opts.CAFile == "" || opts.NodeID == "" {
		fmt.Fprintln(stderr, "envoy-check ads: --server, --ca and --node-id are required")
		fs.Usage()
		return 2
	}
	if (opts.CertFile == "") != (opts.KeyFile == "") {
		fmt.Fprintln(stderr, "envoy-check ads: --cert and --key go together")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	collected, err := adsclient.Collect(ctx, opts)
	if err != nil && !errors.Is(err, adsclient.ErrIncomplete) {
		fmt.Fprintf(stderr, "envoy-check ads: %v\n", err)
		return 2
	}
	if *out != "" {
		f, ferr := os.Create(*out)
		if ferr == nil {
			ferr = resources.Write(f, collected.Lines)
			if cerr := f.Close(); ferr == nil {
				ferr = cerr
			}
		}
		if ferr != nil {
			fmt.Fprintf(stderr, "envoy-check ads: %v\n", ferr)
			return 2
		}
	}
	summary, _ := json.Marshal(map[string]any{"server": opts.Server, "resources": len(collected.Lines), "controlPlane": collected.ControlPlane})
	fmt.Fprintf(stderr, "envoy-check ads: %s\n", summary)
	problems := append(collected.Problems, check.Lines(collected.Lines)...)
	return report(problems, stdout, stderr)
}
