package check

import (
	"fmt"
	"net/netip"
	"regexp/syntax"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/osm-ts/osm-ts/tools/xds-go/internal/resources"
)

// Envoy's default limit on a regex's RE2 program size (runtime key re2.max_program_size.error_level).
const maxRegexProgramSize = 100

// Filters that end a filter chain: Envoy requires them last (and a chain to end with one).
var terminalNetworkFilters = map[string]bool{
	"envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager": true,
	"envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy":                            true,
	"envoy.extensions.filters.network.redis_proxy.v3.RedisProxy":                        true,
	"envoy.extensions.filters.network.thrift_proxy.v3.ThriftProxy":                      true,
	"envoy.extensions.filters.network.dubbo_proxy.v3.DubboProxy":                        true,
	"envoy.extensions.filters.network.direct_response.v3.Config":                        true,
	"envoy.extensions.filters.network.echo.v3.Echo":                                     true,
	"envoy.extensions.filters.network.generic_proxy.v3.GenericProxy":                    true,
}

// Network filters that never end a chain (the ones a mesh puts in front of a terminal filter).
var nonTerminalNetworkFilters = map[string]bool{
	"envoy.extensions.filters.network.rbac.v3.RBAC":                              true,
	"envoy.extensions.filters.network.ext_authz.v3.ExtAuthz":                     true,
	"envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit":         true,
	"envoy.extensions.filters.network.ratelimit.v3.RateLimit":                    true,
	"envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit":       true,
	"envoy.extensions.filters.network.sni_cluster.v3.SniCluster":                 true,
	"envoy.extensions.filters.network.wasm.v3.Wasm":                              true,
	"envoy.extensions.filters.network.set_filter_state.v3.Config":                true,
	"envoy.extensions.filters.network.sni_dynamic_forward_proxy.v3.FilterConfig": true,
}

var terminalHTTPFilters = map[string]bool{
	"envoy.extensions.filters.http.router.v3.Router":                true,
	"envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec": true,
}

type refKind int

const (
	refCluster       refKind = iota // a cluster from CDS (or static, without CDS)
	refStaticCluster                // a static, non-EDS cluster of the bootstrap (xDS config sources)
	refEndpoints                    // an EDS ClusterLoadAssignment
	refRoute                        // an RDS RouteConfiguration
	refSecret                       // an SDS Secret (or a static one when the source is unset)
)

// reference is one name a resource refers to, and what Envoy does when it is missing.
type reference struct {
	kind   refKind
	name   string
	source string // config source of the name: "ads", "self", "none", "path", "api"
	wants  string // for secrets: the kind of secret the place needs
	at     Problem
}

type collector struct {
	problems []Problem
	refs     []reference
	usesADS  bool
	at       Problem
}

func (c *collector) report(typeURL, name, field, rule, message string) {
	c.problems = append(c.problems, Problem{TypeURL: typeURL, Name: name, Field: field, Rule: rule, Message: message})
}

func (c *collector) here(field, rule, message string) {
	c.report(c.at.TypeURL, c.at.Name, field, rule, message)
}

func (c *collector) refer(kind refKind, name, source, wants, field string) {
	at := c.at
	at.Field = field
	c.refs = append(c.refs, reference{kind: kind, name: name, source: source, wants: wants, at: at})
}

func (c *collector) resource(typeURL, name string, msg proto.Message) {
	c.at = Problem{TypeURL: typeURL, Name: name}
	w := &walker{report: c.here, inspect: c.inspect}
	w.resource(msg)
}

func sourceOf(cs *corev3.ConfigSource) string {
	switch {
	case cs == nil:
		return "none"
	case cs.GetAds() != nil:
		return "ads"
	case cs.GetSelf() != nil:
		return "self"
	case cs.GetApiConfigSource() != nil:
		return "api"
	default:
		return "path"
	}
}

// inspect applies the rules of one message type; walk calls it for every message it meets.
func (c *collector) inspect(m proto.Message, path string) {
	switch v := m.(type) {
	case *matcherv3.RegexMatcher:
		c.regex(v.GetRegex(), join(path, "regex"))
	case *corev3.ConfigSource:
		if v.GetAds() != nil {
			c.usesADS = true
		}
	case *corev3.ApiConfigSource:
		for i, g := range v.GetGrpcServices() {
			if name := g.GetEnvoyGrpc().GetClusterName(); name != "" {
				c.refer(refStaticCluster, name, "", "", fmt.Sprintf("%s.grpc_services[%d].envoy_grpc.cluster_name", path, i))
			}
		}
		for i, name := range v.GetClusterNames() {
			c.refer(refStaticCluster, name, "", "", fmt.Sprintf("%s.cluster_names[%d]", path, i))
		}
	case *clusterv3.Cluster:
		c.cluster(v, path)
	case *listenerv3.Listener:
		c.listener(v, path)
	case *routev3.RouteConfiguration:
		c.routeConfiguration(v, path)
	case *routev3.RouteAction:
		if name := v.GetCluster(); name != "" {
			c.refer(refCluster, name, "", "", join(path, "cluster"))
		}
	case *routev3.WeightedCluster:
		var sum uint64
		for i, wc := range v.GetClusters() {
			if name := wc.GetName(); name != "" {
				c.refer(refCluster, name, "", "", fmt.Sprintf("%s.clusters[%d].name", path, i))
			}
			sum += uint64(wc.GetWeight().GetValue())
		}
		if sum == 0 {
			c.here(path, RuleEnvoy, "the weights of the weighted clusters add up to 0; Envoy rejects the route: \"Sum of weights in the weighted_cluster must be greater than 0.\"")
		} else if sum > 1<<32-1 {
			c.here(path, RuleEnvoy, fmt.Sprintf("the weights of the weighted clusters add up to %d, more than Envoy's limit 4294967295; Envoy rejects the route", sum))
		}
	case *tcpproxyv3.TcpProxy:
		if name := v.GetCluster(); name != "" {
			c.refer(refCluster, name, "", "", join(path, "cluster"))
		}
		for i, wc := range v.GetWeightedClusters().GetClusters() {
			c.refer(refCluster, wc.GetName(), "", "", fmt.Sprintf("%s.weighted_clusters.clusters[%d].name", path, i))
		}
	case *hcmv3.HttpConnectionManager:
		if rds := v.GetRds(); rds != nil {
			c.refer(refRoute, rds.GetRouteConfigName(), sourceOf(rds.GetConfigSource()), "", join(path, "rds.route_config_name"))
		}
		c.httpFilters(v.GetHttpFilters(), join(path, "http_filters"))
	case *tlsv3.CommonTlsContext:
		for i, sds := range v.GetTlsCertificateSdsSecretConfigs() {
			c.refer(refSecret, sds.GetName(), sourceOf(sds.GetSdsConfig()), "tls_certificate", fmt.Sprintf("%s.tls_certificate_sds_secret_configs[%d].name", path, i))
		}
		if sds := v.GetValidationContextSdsSecretConfig(); sds != nil {
			c.refer(refSecret, sds.GetName(), sourceOf(sds.GetSdsConfig()), "validation_context", join(path, "validation_context_sds_secret_config.name"))
		}
		if sds := v.GetCombinedValidationContext().GetValidationContextSdsSecretConfig(); sds != nil {
			c.refer(refSecret, sds.GetName(), sourceOf(sds.GetSdsConfig()), "validation_context", join(path, "combined_validation_context.validation_context_sds_secret_config.name"))
		}
	case *tlsv3.DownstreamTlsContext:
		ctx := v.GetCommonTlsContext()
		if len(ctx.GetTlsCertificates()) == 0 && len(ctx.GetTlsCertificateSdsSecretConfigs()) == 0 && ctx.GetTlsCertificateProviderInstance() == nil &&
			ctx.GetTlsCertificateCertificateProvider() == nil && ctx.GetTlsCertificateCertificateProviderInstance() == nil &&
			ctx.GetCustomHandshaker() == nil && ctx.GetCustomTlsCertificateSelector() == nil {
			c.here(join(path, "common_tls_context"), RuleEnvoy, "a server-side TLS context without any certificate; Envoy rejects it: \"No TLS certificates found for server context\"")
		}
	case *tlsv3.CertificateValidationContext:
		// The default context of a combined validation context is merged with the one from SDS,
		// which may carry the trusted CA; every other validation context must carry its own.
		if strings.HasSuffix(path, "default_validation_context") {
			break
		}
		if (len(v.GetMatchTypedSubjectAltNames()) > 0 || len(v.GetMatchSubjectAltNames()) > 0) && v.GetTrustedCa() == nil &&
			v.GetCaCertificateProviderInstance() == nil && v.GetSystemRootCerts() == nil && v.GetCustomValidatorConfig() == nil &&
			v.GetTrustChainVerification() != tlsv3.CertificateValidationContext_ACCEPT_UNTRUSTED {
			c.here(path, RuleEnvoy, "subject alt name matchers without a trusted CA; Envoy rejects it: \"SAN-based verification of peer certificates without trusted CA is insecure and not allowed\"")
		}
	}
}

func (c *collector) regex(re, field string) {
	parsed, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		c.here(field, RuleRegex, fmt.Sprintf("regex %q is not valid RE2 (Envoy's regex engine): %v", re, err))
		return
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		c.here(field, RuleRegex, fmt.Sprintf("regex %q does not compile: %v", re, err))
		return
	}
	// This is Go's count, not C++ RE2's, and they differ both ways: RE2 compiles over UTF-8 bytes,
	// so '.' or '[^/]' is a tree of byte ranges ('[^/]{1,20}': 41 here, 183 in RE2), while a literal
	// after '^' is matched outside RE2's program ('^/' + 150 letters: over 150 here, 4 in RE2). A
	// regex flagged here may pass Envoy and one that passes here may not; the translator's exact
	// count is libs/mesh-catalog/src/re2-program-size.ts.
	if size := len(prog.Inst); size > maxRegexProgramSize {
		c.here(field, RuleRegex, fmt.Sprintf("regex %q: RE2 program size of %d by Go's count (Envoy's C++ RE2 count differs) > max program size of %d set for the error level threshold (runtime re2.max_program_size.error_level); Envoy rejects the resource if its own count is over too", re, size, maxRegexProgramSize))
	}
}

func (c *collector) cluster(v *clusterv3.Cluster, path string) {
	if v.GetType() != clusterv3.Cluster_EDS {
		return
	}
	eds := v.GetEdsClusterConfig()
	if eds == nil {
		c.here(join(path, "eds_cluster_config"), RuleEnvoy, "an EDS cluster without eds_cluster_config; Envoy rejects it: \"cannot create an EDS cluster without an EDS config\"")
		return
	}
	name := eds.GetServiceName()
	field := join(path, "eds_cluster_config.service_name")
	if name == "" {
		name, field = v.GetName(), join(path, "name")
	}
	c.refer(refEndpoints, name, sourceOf(eds.GetEdsConfig()), "", field)
}

func typeOf(tc interface{ GetTypeUrl() string }) string {
	if tc == nil {
		return ""
	}
	return resources.TypeName(tc.GetTypeUrl())
}

func (c *collector) listener(v *listenerv3.Listener, path string) {
	chains := v.GetFilterChains()
	for i, fc := range chains {
		c.networkFilters(fc.GetFilters(), fmt.Sprintf("%sfilter_chains[%d].filters", prefix(path), i))
	}
	if fc := v.GetDefaultFilterChain(); fc != nil {
		c.networkFilters(fc.GetFilters(), prefix(path)+"default_filter_chain.filters")
	}
	if v.GetFilterChainMatcher() != nil {
		return // the matcher, not filter_chain_match, selects chains
	}
	owner := map[string]int{}
	for i, fc := range chains {
		for _, leaf := range matchLeaves(fc.GetFilterChainMatch()) {
			if j, dup := owner[leaf]; dup && j != i {
				c.here(fmt.Sprintf("%sfilter_chains[%d].filter_chain_match", prefix(path), i), RuleUnique, fmt.Sprintf(
					"matches the same connections as filter_chains[%d] (%s); Envoy rejects the listener: \"error adding listener '%s': multiple filter chains with the same matching rules are defined\"",
					j, leaf, addressOf(v)))
				break
			}
			owner[leaf] = i
		}
	}
}

func prefix(path string) string {
	if path == "" {
		return ""
	}
	return path + "."
}

func addressOf(l *listenerv3.Listener) string {
	sa := l.GetAddress().GetSocketAddress()
	if sa == nil {
		return l.GetName()
	}
	return fmt.Sprintf("%s:%d", sa.GetAddress(), sa.GetPortValue())
}

func cidrs(ranges []*corev3.CidrRange) []string {
	var out []string
	for _, r := range ranges {
		addr, err := netip.ParseAddr(r.GetAddressPrefix())
		if err != nil {
			out = append(out, r.GetAddressPrefix()+"/"+strconv.Itoa(int(r.GetPrefixLen().GetValue())))
			continue
		}
		bits := addr.BitLen()
		if r.GetPrefixLen() != nil {
			bits = int(r.GetPrefixLen().GetValue())
		}
		p, err := addr.Prefix(bits)
		if err != nil {
			out = append(out, r.GetAddressPrefix())
			continue
		}
		out = append(out, p.String())
	}
	return out
}

// matchLeaves expands a filter_chain_match into every combination of its criteria, the leaves of
// Envoy's filter chain lookup tree (an empty criterion is its own "any" value); two chains that
// share a leaf are ambiguous and Envoy rejects the listener.
func matchLeaves(m *listenerv3.FilterChainMatch) []string {
	port := "any"
	if m.GetDestinationPort() != nil {
		port = strconv.Itoa(int(m.GetDestinationPort().GetValue()))
	}
	var sourcePorts []string
	for _, p := range m.GetSourcePorts() {
		sourcePorts = append(sourcePorts, strconv.Itoa(int(p)))
	}
	dims := [][]string{
		{"port=" + port},
		tag("destination", cidrs(m.GetPrefixRanges())),
		tag("server_name", m.GetServerNames()),
		{"transport=" + m.GetTransportProtocol()},
		tag("alpn", m.GetApplicationProtocols()),
		tag("direct_source", cidrs(m.GetDirectSourcePrefixRanges())),
		{"source_type=" + m.GetSourceType().String()},
		tag("source", cidrs(m.GetSourcePrefixRanges())),
		tag("source_port", sourcePorts),
	}
	leaves := []string{""}
	for _, values := range dims {
		var next []string
		for _, l := range leaves {
			for _, v := range values {
				next = append(next, strings.TrimPrefix(l+" "+v, " "))
			}
		}
		leaves = next
	}
	return leaves
}

func tag(name string, values []string) []string {
	if len(values) == 0 {
		return []string{name + "=any"}
	}
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = name + "=" + v
	}
	return out
}

func (c *collector) networkFilters(filters []*listenerv3.Filter, path string) {
	for i, f := range filters {
		t := typeOf(f.GetTypedConfig())
		last := i == len(filters)-1
		if terminalNetworkFilters[t] && !last {
			c.here(fmt.Sprintf("%s[%d]", path, i), RuleEnvoy, fmt.Sprintf("Envoy rejects the listener: \"Error: terminal filter named %s of type %s must be the last filter in a network filter chain.\"", f.GetName(), t))
		}
		if last && nonTerminalNetworkFilters[t] {
			c.here(fmt.Sprintf("%s[%d]", path, i), RuleEnvoy, fmt.Sprintf("Envoy rejects the listener: \"Error: non-terminal filter named %s of type %s is the last filter in a network filter chain.\"", f.GetName(), t))
		}
	}
}

func (c *collector) httpFilters(filters []*hcmv3.HttpFilter, path string) {
	for i, f := range filters {
		t := typeOf(f.GetTypedConfig())
		if t == "" {
			continue // configured through ECDS: its type is not known here
		}
		last := i == len(filters)-1
		if terminalHTTPFilters[t] && !last {
			c.here(fmt.Sprintf("%s[%d]", path, i), RuleEnvoy, fmt.Sprintf("Envoy rejects the listener: \"Error: terminal filter named %s of type %s must be the last filter in a http filter chain.\"", f.GetName(), t))
		}
		if last && !terminalHTTPFilters[t] {
			c.here(fmt.Sprintf("%s[%d]", path, i), RuleEnvoy, fmt.Sprintf("Envoy rejects the listener: \"Error: non-terminal filter named %s of type %s is the last filter in a http filter chain.\" (the router must come last)", f.GetName(), t))
		}
	}
}

func (c *collector) routeConfiguration(v *routev3.RouteConfiguration, path string) {
	owner := map[string]int{}
	for i, vh := range v.GetVirtualHosts() {
		for k, d := range vh.GetDomains() {
			domain := strings.ToLower(d)
			if j, dup := owner[domain]; dup {
				c.here(fmt.Sprintf("%svirtual_hosts[%d].domains[%d]", prefix(path), i, k), RuleUnique, fmt.Sprintf(
					"domain %q is also in virtual_hosts[%d]; Envoy rejects the route configuration: \"Only unique values for domains are permitted. Duplicate entry of domain %s in route %s\"",
					d, j, domain, v.GetName()))
				continue
			}
			owner[domain] = i
		}
	}
}

// crossResource applies the rules that span resources of one universe.
func (c *collector) crossResource(universe []decoded) {
	bound := map[string]string{}
	for _, d := range universe {
		l, ok := d.msg.(*listenerv3.Listener)
		if !ok {
			continue
		}
		sa := l.GetAddress().GetSocketAddress()
		if sa == nil || sa.GetPortValue() == 0 || (l.GetBindToPort() != nil && !l.GetBindToPort().GetValue()) {
			continue
		}
		key := fmt.Sprintf("%s %s:%d", sa.GetProtocol(), sa.GetAddress(), sa.GetPortValue())
		if other, dup := bound[key]; dup {
			c.report(d.typeURL, d.name, "address", RuleUnique, fmt.Sprintf(
				"listener %q binds %s:%d like listener %q; Envoy rejects it: \"error adding listener: '%s' has duplicate address '%s:%d' as existing listener\"",
				d.name, sa.GetAddress(), sa.GetPortValue(), other, d.name, sa.GetAddress(), sa.GetPortValue()))
			continue
		}
		bound[key] = d.name
	}
}
