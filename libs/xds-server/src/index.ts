// Public entry of @osm/xds-server.
