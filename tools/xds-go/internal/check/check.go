// Package check applies Envoy's rules to xDS resources and bootstraps, independently of the
// TypeScript code that built them: each resource and every message packed in an Any is decoded into
// go-control-plane's Envoy types and run through protoc-gen-validate's ValidateAll; every name one
// resource refers to (clusters, EDS, RDS, SDS) must exist; go-control-plane's snapshot Consistent()
// must hold; and a few of Envoy's load-time rules that PGV cannot express are checked (RE2 regexes,
// terminal filters, duplicate filter chain matches, domains and listener addresses, weighted
// cluster sums, TLS contexts).
package check

import (
	"cmp"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cache "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/osm-ts/osm-ts/tools/xds-go/internal/resources"
)

// Problem is one violated rule of one resource.
type Problem struct {
	TypeURL string `json:"typeUrl"`
	Name    string `json:"name"`
	// Field is the path inside the resource in proto field names ("filter_chains[0].filters[1]").
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Rules: what kind of check a problem comes from.
const (
	RuleDecode     = "decode"     // the resource does not decode as its type URL's message
	RuleType       = "type"       // not an xDS resource type, or sent under a name it does not carry
	RuleUnique     = "unique"     // two resources, domains, filter chains or addresses that must differ
	RuleValidate   = "validate"   // a protoc-gen-validate rule (ValidateAll)
	RuleAny        = "any"        // an Any whose type is unknown or whose value does not decode
	RuleReference  = "reference"  // a name that refers to a resource which is not there
	RuleRegex      = "regex"      // a regex that Envoy's RE2 rejects
	RuleConsistent = "consistent" // go-control-plane's Snapshot.Consistent()
	RuleEnvoy      = "envoy"      // another rule Envoy applies when it loads the config
)

// BootstrapType is the type URL under which a bootstrap is passed in.
const BootstrapType = resource.APITypePrefix + "envoy.config.bootstrap.v3.Bootstrap"

type decoded struct {
	typeURL, name string
	msg           proto.Message
}

// Lines checks a proxy's resources (one universe: every reference must resolve among them) and
// each bootstrap among the lines on its own (its static resources are its universe).
func Lines(lines []resources.Line) []Problem {
	var problems []Problem
	var universe []decoded
	var bootstraps []decoded
	seen := map[[2]string]bool{}
	for _, line := range lines {
		msg, err := resources.Decode(line)
		if err != nil {
			problems = append(problems, Problem{TypeURL: line.TypeURL, Name: line.Name, Rule: RuleDecode, Message: err.Error()})
			continue
		}
		if line.TypeURL == BootstrapType {
			bootstraps = append(bootstraps, decoded{line.TypeURL, line.Name, msg})
			continue
		}
		if cache.GetResponseType(line.TypeURL) == types.UnknownType {
			problems = append(problems, Problem{TypeURL: line.TypeURL, Name: line.Name, Rule: RuleType,
				Message: fmt.Sprintf("%s is not an xDS resource type (xDS serves clusters, endpoints, listeners, routes, secrets, ...)", resources.TypeName(line.TypeURL))})
			continue
		}
		name := resources.NameOf(msg)
		if line.Name != "" && line.Name != name {
			problems = append(problems, Problem{TypeURL: line.TypeURL, Name: line.Name, Rule: RuleType,
				Message: fmt.Sprintf("sent under the name %q but the resource's own name is %q; Envoy keys it by its own name, so a subscription to %q is never answered", line.Name, name, line.Name)})
		}
		key := [2]string{line.TypeURL, name}
		if seen[key] {
			problems = append(problems, Problem{TypeURL: line.TypeURL, Name: name, Rule: RuleUnique,
				Message: fmt.Sprintf("two %s resources are named %q; Envoy rejects the response (duplicate resource name)", resources.TypeName(line.TypeURL), name)})
			continue
		}
		seen[key] = true
		universe = append(universe, decoded{line.TypeURL, name, msg})
	}
	if len(universe) > 0 {
		problems = append(problems, checkUniverse(universe, nil)...)
		problems = append(problems, consistent(universe)...)
	}
	for _, b := range bootstraps {
		problems = append(problems, checkBootstrap(b)...)
	}
	slices.SortStableFunc(problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.TypeURL, b.TypeURL), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Field, b.Field))
	})
	return problems
}

// checkUniverse walks every resource, then resolves what they refer to among them. With a
// bootstrap, the universe is its static resources and the references are resolved as Envoy does
// at start-up.
func checkUniverse(universe []decoded, bootstrap *bootstrapv3.Bootstrap) []Problem {
	c := &collector{}
	for _, d := range universe {
		c.resource(d.typeURL, d.name, d.msg)
	}
	c.crossResource(universe)
	c.resolve(universe, bootstrap)
	return c.problems
}

func checkBootstrap(b decoded) []Problem {
	bootstrap := b.msg.(*bootstrapv3.Bootstrap)
	c := &collector{}
	c.resource(b.typeURL, b.name, bootstrap)
	static := bootstrap.GetStaticResources()
	var universe []decoded
	for _, cl := range static.GetClusters() {
		universe = append(universe, decoded{resource.ClusterType, cl.GetName(), cl})
	}
	for _, l := range static.GetListeners() {
		universe = append(universe, decoded{resource.ListenerType, l.GetName(), l})
	}
	for _, s := range static.GetSecrets() {
		universe = append(universe, decoded{resource.SecretType, s.GetName(), s})
	}
	// The static resources were walked as part of the bootstrap; references are collected there.
	c.crossResource(universe)
	c.resolve(universe, bootstrap)
	if c.usesADS && bootstrap.GetDynamicResources().GetAdsConfig() == nil {
		c.report(b.typeURL, b.name, "dynamic_resources.ads_config", RuleEnvoy,
			"a config source uses ADS but the bootstrap has no dynamic_resources.ads_config; Envoy refuses it: \"ADS must be configured to support an ADS config source\"")
	}
	return c.problems
}

// consistent runs go-control-plane's own consistency rule on the resources as one snapshot.
func consistent(universe []decoded) []Problem {
	byType := map[resource.Type][]types.Resource{}
	for _, d := range universe {
		byType[d.typeURL] = append(byType[d.typeURL], d.msg)
	}
	snapshot, err := cache.NewSnapshot("check", byType)
	if err == nil {
		err = snapshot.Consistent()
	}
	if err == nil {
		return nil
	}
	return []Problem{{Rule: RuleConsistent, Message: fmt.Sprintf("go-control-plane's Snapshot.Consistent() fails: %v (every EDS and RDS resource must be exactly the set the clusters and listeners name)", err)}}
}

// Subscriptions returns the names, by type URL, that a resource makes Envoy subscribe to over ADS
// (EDS of its EDS clusters, RDS of its connection managers, SDS of its TLS contexts).
func Subscriptions(typeURL string, msg proto.Message) map[string][]string {
	c := &collector{}
	c.resource(typeURL, "", msg)
	out := map[string][]string{}
	for _, r := range c.refs {
		if !fromADS(r.source) {
			continue
		}
		switch r.kind {
		case refEndpoints:
			out[resource.EndpointType] = append(out[resource.EndpointType], r.name)
		case refRoute:
			out[resource.RouteType] = append(out[resource.RouteType], r.name)
		case refSecret:
			out[resource.SecretType] = append(out[resource.SecretType], r.name)
		}
	}
	return out
}
