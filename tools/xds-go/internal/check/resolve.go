package check

import (
	"fmt"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

func secretKind(s *tlsv3.Secret) string {
	switch {
	case s.GetTlsCertificate() != nil:
		return "tls_certificate"
	case s.GetValidationContext() != nil:
		return "validation_context"
	case s.GetSessionTicketKeys() != nil:
		return "session_ticket_keys"
	case s.GetGenericSecret() != nil:
		return "generic_secret"
	default:
		return "nothing"
	}
}

// fromADS: the name is served over the same ADS stream as the resource that names it.
func fromADS(source string) bool { return source == "ads" || source == "self" }

// resolve checks every collected reference against the universe. For a proxy's xDS resources
// (bootstrap nil) the names served over ADS must be there; for a bootstrap, the names Envoy must
// find among its static resources at start-up.
func (c *collector) resolve(universe []decoded, bootstrap *bootstrapv3.Bootstrap) {
	clusters := map[string]*clusterv3.Cluster{}
	endpoints := map[string]bool{}
	routes := map[string]bool{}
	secrets := map[string]*tlsv3.Secret{}
	for _, d := range universe {
		switch v := d.msg.(type) {
		case *clusterv3.Cluster:
			clusters[d.name] = v
		case *endpointv3.ClusterLoadAssignment:
			endpoints[d.name] = true
		case *routev3.RouteConfiguration:
			routes[d.name] = true
		case *tlsv3.Secret:
			secrets[d.name] = v
		}
	}
	isBootstrap := bootstrap != nil
	dynamicClusters := bootstrap.GetDynamicResources().GetCdsConfig() != nil || bootstrap.GetDynamicResources().GetCdsResourcesLocator() != ""
	missing := func(r reference, message string) {
		c.report(r.at.TypeURL, r.at.Name, r.at.Field, RuleReference, message)
	}
	for _, r := range c.refs {
		switch r.kind {
		case refCluster:
			if isBootstrap && dynamicClusters {
				continue // may come from CDS
			}
			if _, ok := clusters[r.name]; !ok {
				where := "the proxy's clusters (CDS)"
				if isBootstrap {
					where = "the bootstrap's static clusters (and it has no CDS)"
				}
				missing(r, fmt.Sprintf("names cluster %q, which is not among %s: Envoy answers the traffic it routes there with 503 / closes the connection (cluster not found), and rejects an inline route configuration that names it (validate_clusters)", r.name, where))
			}
		case refStaticCluster:
			if !isBootstrap {
				continue // xDS config sources point at the bootstrap's clusters, not at served ones
			}
			if cl, ok := clusters[r.name]; !ok || cl.GetType() == clusterv3.Cluster_EDS {
				missing(r, fmt.Sprintf("Envoy refuses the config source: \"envoy.config.core.v3.ApiConfigSource must have a statically defined non-EDS cluster: '%s' does not exist, was added via api, or is an EDS cluster\"", r.name))
			}
		case refEndpoints:
			if isBootstrap || !fromADS(r.source) {
				continue
			}
			if !endpoints[r.name] {
				missing(r, fmt.Sprintf("EDS cluster needs ClusterLoadAssignment %q, which is not among the proxy's endpoints (EDS): Envoy keeps the cluster warming until the initial fetch timeout, then it has no hosts (503)", r.name))
			}
		case refRoute:
			if isBootstrap || !fromADS(r.source) {
				continue
			}
			if !routes[r.name] {
				missing(r, fmt.Sprintf("HTTP connection manager needs RouteConfiguration %q, which is not among the proxy's routes (RDS): Envoy keeps the listener warming and does not serve it until it arrives", r.name))
			}
		case refSecret:
			switch {
			case isBootstrap && r.source == "none":
				s, ok := secrets[r.name]
				if !ok {
					missing(r, fmt.Sprintf("Envoy refuses the TLS context: \"Unknown static secret: %s\" (no static_resources.secrets entry of that name)", r.name))
				} else if kind := secretKind(s); kind != r.wants {
					missing(r, fmt.Sprintf("static secret %q holds a %s, not the %s this TLS context needs; Envoy rejects the TLS context", r.name, kind, r.wants))
				}
			case !isBootstrap && fromADS(r.source):
				s, ok := secrets[r.name]
				if !ok {
					missing(r, fmt.Sprintf("TLS context needs secret %q, which is not among the proxy's secrets (SDS): Envoy keeps the cluster or listener warming, then fails its TLS handshakes", r.name))
				} else if kind := secretKind(s); kind != r.wants {
					missing(r, fmt.Sprintf("secret %q holds a %s, not the %s this TLS context needs; Envoy rejects the secret for it (TLS handshakes fail)", r.name, kind, r.wants))
				}
			}
		}
	}
}
