package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cache "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/osm-ts/osm-ts/tools/xds-go/internal/check"
	"github.com/osm-ts/osm-ts/tools/xds-go/internal/resources"
)

// manifest says which snapshot each node gets:
//
//	{"generation": 1,
//	 "snapshots": {"<key>": "<file of JSON-lines resources>", ...},
//	 "nodes": {"<node id>": "<key>", ...},
//	 "default": "<key for every other node>"}
//
// Many nodes may share one key (one snapshot per identity, or one for the whole fleet), as the
// snapshot cache's NodeHash allows; files are relative to the manifest.
type manifest struct {
	Generation int               `json:"generation"`
	Snapshots  map[string]string `json:"snapshots"`
	Nodes      map[string]string `json:"nodes"`
	Default    string            `json:"default"`
}

type loaded struct {
	manifest  manifest
	snapshots map[string]*cache.Snapshot
	resources int
}

func load(path string) (*loaded, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Default != "" && m.Snapshots[m.Default] == "" {
		return nil, fmt.Errorf("%s: default names snapshot %q, which is not in snapshots", path, m.Default)
	}
	for node, key := range m.Nodes {
		if m.Snapshots[key] == "" {
			return nil, fmt.Errorf("%s: node %q names snapshot %q, which is not in snapshots", path, node, key)
		}
	}
	out := &loaded{manifest: m, snapshots: map[string]*cache.Snapshot{}}
	for key, file := range m.Snapshots {
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(path), file)
		}
		snapshot, n, dropped, err := snapshotFrom(file)
		if err != nil {
			return nil, fmt.Errorf("snapshot %q: %w", key, err)
		}
		if len(dropped) > 0 {
			fmt.Fprintf(os.Stderr, "warn: snapshot %q: dropped %d resources that no cluster or listener refers to (Envoy never requests them; go-control-plane's ADS cache would not answer their type): %s\n", key, len(dropped), strings.Join(dropped, ", "))
		}
		out.snapshots[key] = snapshot
		out.resources += n
	}
	return out, nil
}

// snapshotFrom decodes a file of pre-encoded resources into go-control-plane's types, one version
// per type (the hash of that type's resources), so a reload re-sends only the types that changed.
// It returns the names it dropped (see unreferenced).
func snapshotFrom(file string) (*cache.Snapshot, int, []string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, 0, nil, err
	}
	defer f.Close()
	lines, err := resources.Read(f)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %w", file, err)
	}
	type decoded struct {
		typeURL, name string
		msg           types.Resource
		value         []byte
	}
	var all []decoded
	for _, line := range lines {
		if cache.GetResponseType(line.TypeURL) == types.UnknownType {
			return nil, 0, nil, fmt.Errorf("%s: %s is not an xDS resource type", file, line.TypeURL)
		}
		msg, err := resources.Decode(line)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("%s: %s %q: %w", file, resources.TypeName(line.TypeURL), line.Name, err)
		}
		all = append(all, decoded{line.TypeURL, resources.NameOf(msg), msg, line.Value})
	}
	// In ADS mode go-control-plane's cache answers a subscription by name (EDS, RDS, SDS) only when
	// it names every resource of that type in the snapshot, so a resource no cluster or listener
	// refers to, which Envoy never asks for, would stall the whole type. Envoy would never receive
	// it from any server; dropping it keeps what each proxy receives the same.
	referenced := map[string]map[string]bool{}
	for _, d := range all {
		if d.typeURL != resource.ClusterType && d.typeURL != resource.ListenerType {
			continue
		}
		for typeURL, names := range check.Subscriptions(d.typeURL, d.msg) {
			if referenced[typeURL] == nil {
				referenced[typeURL] = map[string]bool{}
			}
			for _, n := range names {
				referenced[typeURL][n] = true
			}
		}
	}
	byType := map[types.ResponseType][]types.Resource{}
	hashes := map[types.ResponseType][]string{}
	var dropped []string
	for _, d := range all {
		switch d.typeURL {
		case resource.EndpointType, resource.RouteType, resource.SecretType:
			if !referenced[d.typeURL][d.name] {
				dropped = append(dropped, resources.TypeName(d.typeURL)+" "+d.name)
				continue
			}
		}
		t := cache.GetResponseType(d.typeURL)
		sum := sha256.Sum256(d.value)
		byType[t] = append(byType[t], d.msg)
		hashes[t] = append(hashes[t], d.name+"="+hex.EncodeToString(sum[:]))
	}
	// Every type gets a version, an empty one too: the cache never answers a type without one, and
	// a wildcard subscription (CDS, LDS) must be answered even when there is nothing to send.
	snapshot := &cache.Snapshot{}
	for t := range types.UnknownType {
		items := byType[t]
		slices.Sort(hashes[t])
		h := sha256.New()
		for _, s := range hashes[t] {
			h.Write([]byte(s + "\n"))
		}
		snapshot.Resources[t] = cache.NewResources(hex.EncodeToString(h.Sum(nil))[:32], items)
	}
	return snapshot, len(lines) - len(dropped), dropped, nil
}

// nodeHash maps a node to its snapshot key: its own entry in the manifest, else the default.
type nodeHash struct {
	current func() *loaded
}

func (h nodeHash) ID(node *corev3.Node) string {
	l := h.current()
	if key, ok := l.manifest.Nodes[node.GetId()]; ok {
		return key
	}
	if l.manifest.Default != "" {
		return l.manifest.Default
	}
	// No snapshot for this node: the cache holds its requests until one is set under its id.
	return "node:" + node.GetId()
}
