// Public entry of @osm/mesh-catalog.
