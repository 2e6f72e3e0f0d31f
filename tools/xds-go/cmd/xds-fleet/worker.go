package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/credentials"
)

// nackRule is nack-rules.ts's NackRule. Its resourceName is JavaScript source; Go's RE2 reads the
// patterns the tests use (anchors, alternations, classes) the same way and refuses the rest
// (lookaround, back-references), which the parent checks before sending.
type nackRule struct {
	Proxies      []string `json:"proxies"`
	TypeURL      string   `json:"typeUrl"`
	ResourceName *string  `json:"resourceName"`
	Detail       string   `json:"detail"`
}

type compiledRule struct {
	proxies map[string]bool // nil: every proxy
	typeURL string
	pattern *regexp.Regexp
	detail  string
}

func compileRules(rules []nackRule) ([]compiledRule, error) {
	out := make([]compiledRule, 0, len(rules))
	for i, r := range rules {
		c := compiledRule{typeURL: r.TypeURL, detail: r.Detail}
		if c.detail == "" {
			c.detail = "rejected by a NACK rule"
		}
		if r.Proxies != nil {
			c.proxies = map[string]bool{}
			for _, p := range r.Proxies {
				c.proxies[p] = true
			}
		}
		if r.ResourceName != nil {
			re, err := regexp.Compile(*r.ResourceName)
			if err != nil {
				return nil, fmt.Errorf("nackRules[%d].resourceName is not a pattern the go engine reads (RE2): %w", i, err)
			}
			c.pattern = re
		}
		out = append(out, c)
	}
	return out, nil
}

type worker struct {
	config   *workerConfig
	out      *out
	names    *nameTable
	none     *decodedList // the empty list
	decoder  *decoder
	proxies  []*proxy
	rules    atomic.Pointer[[]compiledRule]
	servers  atomic.Pointer[[]string]
	stopping atomic.Bool
	done     chan struct{}
	wg       sync.WaitGroup

	dirtyMu sync.Mutex
	dirty   map[*proxy]struct{}

	flushMu sync.Mutex
}

func newWorker(c *workerConfig, o *out) (*worker, error) {
	if c == nil {
		return nil, errors.New("start without a config")
	}
	if c.Mode != "sotw" {
		return nil, fmt.Errorf("mode %q: the go engine runs state-of-the-world ADS only", c.Mode)
	}
	if c.KeepResources {
		return nil, errors.New("keepResources: the go engine keeps no resources")
	}
	rules, err := compileRules(c.NackRules)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(c.RootPem)) {
		return nil, errors.New("rootPem holds no PEM certificate")
	}
	names := newNameTable()
	w := &worker{config: c, out: o, names: names, none: (&decodedList{}).index(names), decoder: newDecoder(names, 50_000), done: make(chan struct{}), dirty: map[*proxy]struct{}{}}
	w.rules.Store(&rules)
	w.setServers(c.Servers)
	for i, spec := range c.Proxies {
		// Envoy's default curves (Go would add a post-quantum hybrid, several times the CPU of a handshake).
		cfg := &tls.Config{RootCAs: roots, ServerName: c.ServerName, MinVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}}
		if spec.CertificatePem != "" {
			cert, err := tls.X509KeyPair([]byte(spec.CertificatePem), []byte(spec.PrivateKeyPem))
			if err != nil {
				return nil, fmt.Errorf("proxies[%d] (%s): bootstrap certificate: %w", i, spec.UUID, err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		w.proxies = append(w.proxies, newProxy(w, i, spec, credentials.NewTLS(cfg)))
	}
	return w, nil
}

func (w *worker) setServers(servers []string) {
	s := slices.Clone(servers)
	w.servers.Store(&s)
}

func (w *worker) setRules(rules []nackRule) error {
	compiled, err := compileRules(rules)
	if err != nil {
		return err
	}
	w.rules.Store(&compiled)
	return nil
}

func (w *worker) pickServer() string {
	s := *w.servers.Load()
	if len(s) == 0 {
		return ""
	}
	return s[rand.IntN(len(s))]
}

// rejectFor is the reject function of one proxy; rules change at run time, so it reads them on each call.
func (w *worker) rejectFor(uuid string) rejectFunc {
	return func(typeURL string, list []*decoded) string {
		for _, r := range *w.rules.Load() {
			if r.proxies != nil && !r.proxies[uuid] {
				continue
			}
			if r.typeURL != "" && r.typeURL != typeURL {
				continue
			}
			if r.pattern != nil && !slices.ContainsFunc(list, func(d *decoded) bool { return r.pattern.MatchString(d.name) }) {
				continue
			}
			return r.detail
		}
		return ""
	}
}

func (w *worker) changed(p *proxy) {
	w.dirtyMu.Lock()
	w.dirty[p] = struct{}{}
	w.dirtyMu.Unlock()
}

func (w *worker) start() {
	for _, p := range w.proxies {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			p.run()
		}()
	}
	interval := time.Duration(w.config.StatusIntervalMs * float64(time.Millisecond))
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				w.flush()
			case <-w.done:
				return
			}
		}
	}()
}

type wireTypeStatus struct {
	TypeURL    string  `json:"typeUrl"`
	Version    string  `json:"version"`
	Nonce      string  `json:"nonce"`
	Names      int     `json:"names"`
	Subscribed int     `json:"subscribed"`
	Responses  int     `json:"responses"`
	Nacks      int     `json:"nacks"`
	LastNack   string  `json:"lastNack"`
	AckedAt    float64 `json:"ackedAt"`
	ResponseAt float64 `json:"responseAt"`
}

type wireStatus struct {
	I              int              `json:"i"`
	Connected      bool             `json:"connected"`
	Server         string           `json:"server"`
	Replica        string           `json:"replica"`
	Connects       int              `json:"connects"`
	Attempts       int              `json:"attempts"`
	LastError      string           `json:"lastError"`
	LastAckAt      float64          `json:"lastAckAt"`
	LastResponseAt float64          `json:"lastResponseAt"`
	Types          []wireTypeStatus `json:"types"`
}

type namesMessage struct {
	T     string   `json:"t"`
	ID    int      `json:"id"`
	Names []string `json:"names"`
}

// listID is a name list's number; a list not yet announced to the parent is, in messages (flushMu is held).
func listID(l *nameList, messages *[]any) int {
	if !l.announced {
		l.announced = true
		names := l.names
		if names == nil {
			names = []string{}
		}
		*messages = append(*messages, namesMessage{T: "names", ID: l.id, Names: names})
	}
	return l.id
}

// flush writes the statuses of the proxies that changed since the last flush.
func (w *worker) flush() {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.dirtyMu.Lock()
	dirty := w.dirty
	w.dirty = map[*proxy]struct{}{}
	w.dirtyMu.Unlock()
	if len(dirty) == 0 {
		return
	}
	var messages []any
	statuses := make([]wireStatus, 0, len(dirty))
	for p := range dirty {
		statuses = append(statuses, p.status(func(t *typeState) wireTypeStatus {
			return wireTypeStatus{
				TypeURL: t.typeURL, Version: t.version, Nonce: t.nonce,
				Names: listID(t.held.names, &messages), Subscribed: listID(t.subscribed, &messages),
				Responses: t.responses, Nacks: t.nacks, LastNack: t.lastNack, AckedAt: t.ackedAt, ResponseAt: t.responseAt,
			}
		}))
	}
	slices.SortFunc(statuses, func(a, b wireStatus) int { return a.I - b.I })
	messages = append(messages, map[string]any{"t": "status", "statuses": statuses})
	w.out.write(messages...)
}

// stop closes every stream, then writes the last statuses.
func (w *worker) stop() {
	w.stopping.Store(true)
	close(w.done)
	for _, p := range w.proxies {
		p.stop()
	}
	finished := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		fmt.Fprintln(os.Stderr, "xds-fleet: some streams did not close within 5 s")
	}
	w.flush()
}

// backoffWait: Envoy's JitteredExponentialBackOffStrategy, a wait random below the bound.
func backoffWait(boundMs float64) time.Duration {
	return time.Duration(rand.Float64() * boundMs * float64(time.Millisecond))
}
