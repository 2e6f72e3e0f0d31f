// Public entry of @osm/certificates.
