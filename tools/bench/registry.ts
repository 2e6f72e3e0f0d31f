import { B1 } from './B1.ts';
import { B2 } from './B2.ts';
import { B3 } from './B3.ts';
import { B4 } from './B4.ts';
import { B5 } from './B5.ts';
import { B6 } from './B6.ts';
import { B7 } from './B7.ts';
import { fleet } from './fleet.ts';
import { informers } from './informers.ts';
import type { Benchmark } from './types.ts';

// Every benchmark (the README's Benchmarks section describes them); add new ones here.
export const benchmarks: readonly Benchmark[] = [B1, B2, B3, B4, B5, B6, B7, informers, fleet];
