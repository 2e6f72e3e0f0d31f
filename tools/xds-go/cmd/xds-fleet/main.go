// xds-fleet is the Go engine of the fleet simulator (libs/testing/src/fleet): one process runs its
// share of the fleet's simulated Envoy sidecars, each an ADS client (SotW) with its own gRPC
// connection over mTLS, and reports their status to the parent. With XDS_FLEET_CPU_PROFILE_DIR set
// it writes a CPU profile there (xds-fleet-<pid>.pprof) when it stops. It speaks the messages of
// libs/testing/src/fleet/ipc.ts as JSON lines: ToWorker on stdin, FromWorker on stdout. It exits 0
// after `stop`, and at once when stdin closes (the parent is gone). Logs go to stderr.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// toWorker is any message of ipc.ts's ToWorker.
type toWorker struct {
	T       string        `json:"t"`
	Config  *workerConfig `json:"config,omitempty"`
	Servers []string      `json:"servers,omitempty"`
	Rules   []nackRule    `json:"rules,omitempty"`
	ID      int           `json:"id"`
}

type proxySpec struct {
	UUID           string `json:"uuid"`
	NodeID         string `json:"nodeId"`
	Cluster        string `json:"cluster"`
	CertificatePem string `json:"certificatePem"`
	PrivateKeyPem  string `json:"privateKeyPem"`
}

type workerConfig struct {
	Mode                   string      `json:"mode"`
	Servers                []string    `json:"servers"`
	ServerName             string      `json:"serverName"`
	RootPem                string      `json:"rootPem"`
	BackoffBaseMs          float64     `json:"backoffBaseMs"`
	BackoffMaxMs           float64     `json:"backoffMaxMs"`
	NodeOnFirstMessageOnly bool        `json:"nodeOnFirstMessageOnly"`
	InitialFetchTimeoutMs  float64     `json:"initialFetchTimeoutMs"`
	RampMs                 float64     `json:"rampMs"`
	KeepResources          bool        `json:"keepResources"`
	StatusIntervalMs       float64     `json:"statusIntervalMs"`
	NackRules              []nackRule  `json:"nackRules"`
	Proxies                []proxySpec `json:"proxies"`
}

// out writes FromWorker messages, one JSON line each, in the order they are written.
type out struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (o *out) write(messages ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range messages {
		data, err := json.Marshal(m)
		if err != nil {
			fmt.Fprintf(os.Stderr, "xds-fleet: encoding a message: %v\n", err)
			continue
		}
		_, _ = o.w.Write(data)
		_ = o.w.WriteByte('\n')
	}
	if err := o.w.Flush(); err != nil {
		// The parent is gone.
		os.Exit(0)
	}
}

// monotonicMs is CLOCK_MONOTONIC in ms: the clock of monotonicNow() in the parent (process.hrtime),
// so times compare across the processes of one machine.
func monotonicMs() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return float64(ts.Sec)*1e3 + float64(ts.Nsec)/1e6
}

// raiseFileLimit: each proxy holds a connection.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			fmt.Fprintf(os.Stderr, "xds-fleet: raising the open-file limit: %v\n", err)
		}
	}
}

// cpuProfile starts a CPU profile when XDS_FLEET_CPU_PROFILE_DIR names a folder; the returned function ends it.
func cpuProfile() func() {
	dir := os.Getenv("XDS_FLEET_CPU_PROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("xds-fleet-%d.pprof", os.Getpid())))
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "xds-fleet: no CPU profile: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

func main() {
	raiseFileLimit()
	stopProfile := cpuProfile()
	o := &out{w: bufio.NewWriterSize(os.Stdout, 1<<16)}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<30)
	var w *worker
	for in.Scan() {
		var m toWorker
		if err := json.Unmarshal(in.Bytes(), &m); err != nil {
			fmt.Fprintf(os.Stderr, "xds-fleet: not a message: %v\n", err)
			os.Exit(2)
		}
		switch m.T {
		case "start":
			var err error
			w, err = newWorker(m.Config, o)
			if err != nil {
				fmt.Fprintf(os.Stderr, "xds-fleet: %v\n", err)
				os.Exit(2)
			}
			o.write(map[string]string{"t": "ready"})
			w.start()
		case "servers":
			if w != nil {
				w.setServers(m.Servers)
			}
		case "nack-rules":
			if w != nil {
				if err := w.setRules(m.Rules); err != nil {
					fmt.Fprintf(os.Stderr, "xds-fleet: nack rules not changed: %v\n", err)
				}
			}
		case "flush":
			if w != nil {
				w.flush()
			}
			o.write(map[string]any{"t": "done", "id": m.ID})
		case "resources":
			// The parent refuses keepResources for this engine: nothing is kept.
			o.write(map[string]any{"t": "resources", "id": m.ID, "resources": map[string]any{}})
		case "stop":
			if w != nil {
				w.stop()
			}
			stopProfile()
			o.write(map[string]string{"t": "stopped"})
			os.Exit(0)
		}
	}
	// stdin closed: the parent died; nothing of the fleet may outlive it.
	os.Exit(0)
}
