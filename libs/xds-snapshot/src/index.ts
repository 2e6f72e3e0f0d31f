// Public entry of @osm/xds-snapshot.
