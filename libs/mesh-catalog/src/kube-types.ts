// The Kubernetes objects the translator reads, as JSON on the wire (only the fields it uses; all
// optional beyond metadata, because the API server may omit them and the translator must not trust them).
import type { KubeObject } from '@osm/k8s-informers';

type Labels = Readonly<Record<string, string>>;

export interface K8sNamespace extends KubeObject {
  readonly metadata: KubeObject['metadata'] & { readonly annotations?: Labels };
}

export interface K8sServicePort {
  readonly name?: string;
  readonly port?: number;
  readonly targetPort?: number | string;
  readonly protocol?: string;
  readonly appProtocol?: string;
}

export interface K8sService extends KubeObject {
  readonly spec?: {
    readonly type?: string;
    readonly selector?: Labels;
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    readonly ports?: readonly K8sServicePort[];
  };
}

export interface K8sPod extends KubeObject {
  readonly spec?: { readonly serviceAccountName?: string; readonly hostNetwork?: boolean };
  readonly status?: { readonly phase?: string; readonly podIP?: string };
}

export interface K8sEndpointSlice extends KubeObject {
  readonly addressType?: string;
  readonly endpoints?: readonly {
    readonly addresses?: readonly string[];
    readonly conditions?: { readonly ready?: boolean; readonly serving?: boolean; readonly terminating?: boolean };
    readonly targetRef?: { readonly kind?: string; readonly name?: string; readonly namespace?: string };
  }[];
  readonly ports?: readonly { readonly name?: string; readonly port?: number; readonly protocol?: string }[] | null;
}

export type K8sServiceAccount = KubeObject;

interface SmiSubject {
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

export interface K8sTrafficTarget extends KubeObject {
  readonly spec?: {
    readonly destination?: SmiSubject & { readonly port?: number };
    readonly sources?: readonly SmiSubject[];
    readonly rules?: readonly { readonly kind?: string; readonly name?: string; readonly matches?: readonly string[] }[];
  };
}

export interface K8sHTTPRouteGroup extends KubeObject {
  readonly spec?: {
    readonly matches?: readonly {
      readonly name?: string;
      readonly pathRegex?: string;
      readonly methods?: readonly string[];
      readonly headers?: Labels;
    }[];
  };
}

export interface K8sTCPRoute extends KubeObject {
  readonly spec?: { readonly matches?: { readonly name?: string; readonly ports?: readonly number[] } };
}

export interface K8sTrafficSplit extends KubeObject {
  readonly spec?: { readonly service?: string; readonly backends?: readonly { readonly service?: string; readonly weight?: number }[] };
}

export interface K8sMeshConfig extends KubeObject {
  readonly spec?: {
    readonly traffic?: {
      readonly enableEgress?: boolean;
      readonly enablePermissiveTrafficPolicyMode?: boolean;
      readonly outboundIPRangeExclusionList?: readonly string[];
      readonly outboundIPRangeInclusionList?: readonly string[];
      readonly outboundPortExclusionList?: readonly number[];
      readonly inboundPortExclusionList?: readonly number[];
    };
    readonly sidecar?: { readonly logLevel?: string };
    readonly certificate?: { readonly serviceCertValidityDuration?: string };
    readonly observability?: {
      readonly tracing?: { readonly enable?: boolean; readonly address?: string; readonly port?: number; readonly endpoint?: string };
    };
  };
}

/** Every object the translator reads, as lists in any order. */
export interface KubeObjects {
  /** The namespaces monitored by this mesh; objects elsewhere are ignored. */
  readonly namespaces: readonly K8sNamespace[];
  readonly services: readonly K8sService[];
  readonly pods: readonly K8sPod[];
  readonly endpointSlices: readonly K8sEndpointSlice[];
  readonly serviceAccounts: readonly K8sServiceAccount[];
  readonly trafficTargets: readonly K8sTrafficTarget[];
  readonly httpRouteGroups: readonly K8sHTTPRouteGroup[];
  readonly tcpRoutes: readonly K8sTCPRoute[];
  readonly trafficSplits: readonly K8sTrafficSplit[];
  /** `osm-mesh-config` when it exists (at most one is read). */
  readonly meshConfigs: readonly K8sMeshConfig[];
}
