package main

// The DiscoveryResponse read without materialising its resources: thousands of proxies receive
// the same bytes, and each distinct resource is decoded once per process (decode.go), so the
// per-response work is hashing the resources' bytes.

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

type rawAny struct {
	typeURL string
	value   []byte
}

// rawResponse is an envoy.service.discovery.v3.DiscoveryResponse, its resources decoded through
// decoder while gRPC's receive buffer is still valid (the bytes are not copied).
type rawResponse struct {
	decoder      *decoder
	version      string
	typeURL      string
	nonce        string
	controlPlane string
	list         *decodedList
}

// rawCodec writes requests with the generated types and reads responses into rawResponse.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := proto.Marshal(v.(proto.Message))
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	r, ok := v.(*rawResponse)
	if !ok {
		return fmt.Errorf("rawCodec reads *rawResponse, not %T", v)
	}
	// One buffer (the common case) is read in place; it is valid until Unmarshal returns.
	var b []byte
	if len(data) == 1 {
		b = data[0].ReadOnlyData()
	} else {
		b = data.Materialize()
	}
	resources, err := r.parse(b)
	if err != nil {
		return err
	}
	r.list = r.decoder.list(r.typeURL, resources)
	return nil
}

var errMalformed = errors.New("malformed DiscoveryResponse")

// fields calls fn with each field of a message; a length-delimited field's value is its bytes.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, value []byte)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errMalformed
		}
		b = b[n:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return errMalformed
			}
			fn(num, typ, v)
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return errMalformed
		}
		b = b[m:]
	}
	return nil
}

// parse reads the fields; the resources it returns alias b.
func (r *rawResponse) parse(b []byte) ([]rawAny, error) {
	var resources []rawAny
	var inner error
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte) {
		if typ != protowire.BytesType {
			return
		}
		switch num {
		case 1:
			r.version = string(v)
		case 2:
			var a rawAny
			if err := fields(v, func(n protowire.Number, t protowire.Type, w []byte) {
				switch {
				case t != protowire.BytesType:
				case n == 1:
					a.typeURL = string(w)
				case n == 2:
					a.value = w
				}
			}); err != nil {
				inner = err
			}
			resources = append(resources, a)
		case 4:
			r.typeURL = string(v)
		case 5:
			r.nonce = string(v)
		case 6:
			if err := fields(v, func(n protowire.Number, t protowire.Type, w []byte) {
				if n == 1 && t == protowire.BytesType {
					r.controlPlane = string(w)
				}
			}); err != nil {
				inner = err
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return resources, inner
}
