// Public entry of @osm/clock.
export { systemClock, type Clock, type TimerHandle } from './clock.ts';
