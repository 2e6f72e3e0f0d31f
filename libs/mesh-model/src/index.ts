// Public entry of @osm/mesh-model.
