// Public entry of @osm/injector-core.
