// Public entry of @osm/observability.
