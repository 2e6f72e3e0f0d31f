// Checks of untrusted values from Kubernetes objects, shared by the translator's parts.
import { compareStrings } from '@osm/mesh-model';

export const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';
export const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536;
export const uniqueSorted = (items: Iterable<string>): string[] => [...new Set(items)].sort(compareStrings);
