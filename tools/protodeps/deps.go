// Package protodeps exists only to pin the modules whose .proto files we generate from.
package protodeps

import _ "github.com/envoyproxy/protoc-gen-validate/validate"
