package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cache "github.com/envoyproxy/go-control-plane/pkg/cache/v3"

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
		snapshot, n, err := snapshotFrom(file)
		if err != nil {
			return nil, fmt.Errorf("snapshot %q: %w", key, err)
		}
		out.snapshots[key] = snapshot
		out.resources += n
	}
	return out, nil
}

// snapshotFrom decodes a file of pre-encoded resources into go-control-plane's types, one version
// per type (the hash of that type's resources), so a reload re-sends only the types that changed.
func snapshotFrom(file string) (*cache.Snapshot, int, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	lines, err := resources.Read(f)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	byType := map[types.ResponseType][]types.Resource{}
	hashes := map[types.ResponseType][]string{}
	for _, line := range lines {
		t := cache.GetResponseType(line.TypeURL)
		if t == types.UnknownType {
			return nil, 0, fmt.Errorf("%s: %s is not an xDS resource type", file, line.TypeURL)
		}
		msg, err := resources.Decode(line)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %s %q: %w", file, resources.TypeName(line.TypeURL), line.Name, err)
		}
		sum := sha256.Sum256(line.Value)
		byType[t] = append(byType[t], msg)
		hashes[t] = append(hashes[t], resources.NameOf(msg)+"="+hex.EncodeToString(sum[:]))
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
	return snapshot, len(lines), nil
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
