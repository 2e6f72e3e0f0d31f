// Public entry of @osm/testing.
