// Pins validate.proto for Envoy API generation: the copy inside @grpc/grpc-js-xds is older
// than its Envoy protos (no `ignore_empty`), so tools/envoy-api/generate.ts takes this one.
module github.com/osm-ts/osm-ts/tools/protodeps

go 1.26.0

require github.com/envoyproxy/protoc-gen-validate v1.3.3

require google.golang.org/protobuf v1.36.11 // indirect
