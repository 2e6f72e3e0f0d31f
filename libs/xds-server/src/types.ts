// The resource types of a sidecar's ADS stream: their type URLs, short names and push order.
import { RESOURCE_TYPES, TYPE_URLS, type ResourceType } from '@osm/xds-snapshot';

/** OSM's short names, used in metric labels and logs. */
export const SHORT_NAMES: Readonly<Record<ResourceType, string>> = { clusters: 'CDS', endpoints: 'EDS', listeners: 'LDS', routes: 'RDS', secrets: 'SDS' };

/** Make-before-break: clusters and their endpoints before the listeners and routes that use them, secrets last (RESOURCE_TYPES' order). */
export const PUSH_ORDER: readonly ResourceType[] = RESOURCE_TYPES;

/** Types whose subscription is always the whole set (Envoy asks for every cluster and listener). */
export const isWildcardType = (type: ResourceType): boolean => type === 'clusters' || type === 'listeners';

const typesByUrl = new Map<string, ResourceType>(RESOURCE_TYPES.map((t) => [TYPE_URLS[t], t]));

/** The resource type of a type URL; undefined for any other (which the server ignores). */
export const resourceTypeOf = (typeUrl: string): ResourceType | undefined => typesByUrl.get(typeUrl);
