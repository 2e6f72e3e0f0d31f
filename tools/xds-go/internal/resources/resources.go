// Package resources reads and writes the exchange format of envoy-check and xds-reference: one JSON
// object per resource, `{"typeUrl": ..., "name": ..., "value": <base64 of the encoded message>}`, or
// `"json": {...}` (Envoy's proto3 JSON form, as in a bootstrap file) instead of `value`.
package resources

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"

	cache "github.com/envoyproxy/go-control-plane/pkg/cache/v3"

	// Every Envoy message, so any type URL Envoy knows decodes here.
	_ "github.com/osm-ts/osm-ts/tools/xds-go/internal/envoytypes"
)

// Line is one resource as exchanged with the TypeScript side.
type Line struct {
	TypeURL string          `json:"typeUrl"`
	Name    string          `json:"name"`
	Value   []byte          `json:"value,omitempty"`
	JSON    json.RawMessage `json:"json,omitempty"`
}

// Read reads every Line from r (JSON objects separated by white space).
func Read(r io.Reader) ([]Line, error) {
	dec := json.NewDecoder(r)
	var lines []Line
	for {
		var line Line
		err := dec.Decode(&line)
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return nil, fmt.Errorf("resource %d: not a JSON object {typeUrl, name, value}: %w", len(lines)+1, err)
		}
		lines = append(lines, line)
	}
}

// Write writes lines as JSON lines.
func Write(w io.Writer, lines []Line) error {
	enc := json.NewEncoder(w)
	for _, line := range lines {
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

// TypeName is the message name of a type URL (what follows its last '/').
func TypeName(typeURL string) string {
	return typeURL[strings.LastIndexByte(typeURL, '/')+1:]
}

// Decode unmarshals a line into the Envoy message its type URL names.
func Decode(line Line) (proto.Message, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(line.TypeURL)
	if err != nil {
		return nil, fmt.Errorf("type URL %q is not an Envoy API message type (go-control-plane has no such message)", line.TypeURL)
	}
	msg := mt.New().Interface()
	if line.JSON != nil {
		if err := protojson.Unmarshal(line.JSON, msg); err != nil {
			return nil, fmt.Errorf("json does not parse as %s: %w", TypeName(line.TypeURL), err)
		}
		return msg, nil
	}
	if err := proto.Unmarshal(line.Value, msg); err != nil {
		return nil, fmt.Errorf("value does not decode as %s: %w", TypeName(line.TypeURL), err)
	}
	return msg, nil
}

// NameOf is the name an xDS server and Envoy know a resource by (a ClusterLoadAssignment's is its
// cluster_name); go-control-plane's rule.
func NameOf(msg proto.Message) string {
	return cache.GetResourceName(msg)
}
