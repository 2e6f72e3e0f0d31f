package check

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
)

// walker visits one resource: it runs the protoc-gen-validate rules (ValidateAll) on the resource
// and on every message packed in an Any (PGV does not look inside an Any, Envoy does when it loads
// the config), and calls inspect for every message on the way, with its path in proto field names.
type walker struct {
	report  func(field, rule, message string)
	inspect func(m proto.Message, path string)
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func (w *walker) resource(msg proto.Message) {
	w.validate(msg, "")
	w.walk(msg.ProtoReflect(), "")
}

// validate runs PGV's ValidateAll and reports each violated rule at its own field.
func (w *walker) validate(msg proto.Message, path string) {
	v, ok := msg.(interface{ ValidateAll() error })
	if !ok {
		return
	}
	if err := v.ValidateAll(); err != nil {
		w.flatten(err, msg.ProtoReflect().Descriptor(), path)
	}
}

// pgvError is the interface of every error protoc-gen-validate generates.
type pgvError interface {
	Field() string
	Reason() string
	Cause() error
	Key() bool
}

// flatten turns PGV's nested errors ("embedded message failed validation" with a cause) into one
// problem per violated rule, its path translated from Go field names to proto field names.
func (w *walker) flatten(err error, md protoreflect.MessageDescriptor, path string) {
	if multi, ok := err.(interface{ AllErrors() []error }); ok {
		for _, e := range multi.AllErrors() {
			w.flatten(e, md, path)
		}
		return
	}
	pe, ok := err.(pgvError)
	if !ok {
		w.report(path, RuleValidate, err.Error())
		return
	}
	goName, suffix, _ := strings.Cut(pe.Field(), "[")
	if suffix != "" {
		suffix = "[" + suffix
	}
	fd := fieldByGoName(md, goName)
	field := join(path, goName+suffix)
	if fd != nil {
		field = join(path, string(fd.Name())+suffix)
	}
	if cause := pe.Cause(); cause != nil && fd != nil {
		inner := fd.Message()
		if fd.IsMap() {
			inner = fd.MapValue().Message()
		}
		if inner != nil {
			w.flatten(cause, inner, field)
			return
		}
	}
	reason := pe.Reason()
	if pe.Key() {
		reason = "map key: " + reason
	}
	if cause := pe.Cause(); cause != nil {
		reason += ": " + cause.Error()
	}
	w.report(field, RuleValidate, fmt.Sprintf("%s (protoc-gen-validate rule of %s; Envoy rejects the resource)", reason, md.FullName()))
}

// fieldByGoName finds the field PGV names in Go spelling (FilterChains for filter_chains).
func fieldByGoName(md protoreflect.MessageDescriptor, goName string) protoreflect.FieldDescriptor {
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if strings.EqualFold(strings.ReplaceAll(string(fd.Name()), "_", ""), goName) {
			return fd
		}
	}
	return nil
}

func (w *walker) walk(m protoreflect.Message, path string) {
	w.inspect(m.Interface(), path)
	var fields []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		fields = append(fields, fd)
		return true
	})
	// Range's order is unspecified; field-number order keeps reports stable.
	slices.SortFunc(fields, func(a, b protoreflect.FieldDescriptor) int { return int(a.Number()) - int(b.Number()) })
	for _, fd := range fields {
		v := m.Get(fd)
		p := join(path, string(fd.Name()))
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				continue
			}
			var keys []protoreflect.MapKey
			v.Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return strings.Compare(a.String(), b.String()) })
			for _, k := range keys {
				w.message(v.Map().Get(k).Message(), fmt.Sprintf("%s[%s]", p, k.String()))
			}
		case fd.IsList():
			if fd.Message() == nil {
				continue
			}
			for i := range v.List().Len() {
				w.message(v.List().Get(i).Message(), fmt.Sprintf("%s[%d]", p, i))
			}
		case fd.Message() != nil:
			w.message(v.Message(), p)
		}
	}
}

func (w *walker) message(m protoreflect.Message, path string) {
	if a, ok := m.Interface().(*anypb.Any); ok {
		w.any(a, path)
		return
	}
	w.walk(m, path)
}

// any unpacks an Any as Envoy does, then validates and walks what it holds.
func (w *walker) any(a *anypb.Any, path string) {
	inner, err := a.UnmarshalNew()
	switch {
	case err == nil:
	case a.GetTypeUrl() == "":
		w.report(path, RuleAny, "Any without a type URL; Envoy cannot tell which extension it configures and rejects the resource")
		return
	case errors.Is(err, protoregistry.NotFound):
		w.report(path, RuleAny, fmt.Sprintf("Any of type %q: no Envoy API message has that name; Envoy rejects the resource (no extension factory for it)", a.GetTypeUrl()))
		return
	default:
		w.report(path, RuleAny, fmt.Sprintf("Any of type %q: its value does not decode as that message (%v); Envoy rejects the resource", a.GetTypeUrl(), err))
		return
	}
	w.validate(inner, path)
	w.walk(inner.ProtoReflect(), path)
}
